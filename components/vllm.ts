/**
 * vLLM's command line, derived from the model deployment: one table of what each checkpoint format
 * needs, and the builder of the whole argument list. Pure.
 */
import type { InferenceModelArgs, Precision } from "./inference-cluster";

/**
 * vLLM arguments per checkpoint format (the `precision` of a deployment is the format its weights are
 * stored in):
 *
 * - `bf16`, `fp16`: an unquantized checkpoint; `--dtype` pins the compute type to the stored one.
 * - `fp8`, `int8`, `awq`, `gptq`: a pre-quantized checkpoint. vLLM reads the method from the checkpoint's
 *   `quantization_config` and picks its fastest kernel itself (Marlin for AWQ and GPTQ on Ampere and
 *   newer). Naming the method forces that exact method: `--quantization awq` on an AWQ checkpoint runs
 *   the slow AWQ GEMM kernel, up to 5x slower (vllm-project/vllm issue 21376; vLLM docs, "AutoAWQ":
 *   "vLLM will automatically convert AWQ checkpoints to Marlin"). So nothing is passed.
 */
export const VLLM_CHECKPOINT_ARGS: Readonly<Record<Precision, readonly string[]>> = {
  bf16: ["--dtype", "bfloat16"],
  fp16: ["--dtype", "float16"],
  fp8: [],
  int8: [],
  awq: [],
  gptq: [],
};

/** vLLM's port inside the pod. */
export const VLLM_PORT = 8000;

/**
 * The arguments of vLLM's OpenAI-compatible server for a deployment.
 *
 * @param model - the deployment; `maxModelLen` defaults to 8192 tokens, `gpuMemoryUtilization` to 0.9.
 * @param modelPath - where the weights are inside the container (or the hub id on dev).
 * @returns the container's `args`, in vLLM's CLI syntax.
 */
export function vllmArgs(model: Pick<InferenceModelArgs, "model" | "precision" | "tensorParallelSize" | "maxModelLen" | "gpuMemoryUtilization">, modelPath: string): string[] {
  return [
    "--model", modelPath,
    "--served-model-name", model.model,
    "--tensor-parallel-size", String(model.tensorParallelSize),
    "--max-model-len", String(model.maxModelLen ?? 8192),
    "--gpu-memory-utilization", String(model.gpuMemoryUtilization ?? 0.9),
    "--port", String(VLLM_PORT),
    ...VLLM_CHECKPOINT_ARGS[model.precision],
  ];
}
