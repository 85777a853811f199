/**
 * Issue 16, item 5: vLLM's arguments follow from the checkpoint's format, from one table, for every
 * precision (vllm-project/vllm issue 21376: `--quantization awq` on an AWQ checkpoint forces the slow kernel).
 * The prod plan's G-Cloud AWQ deployment is checked in test/inference-cluster.test.ts.
 */
import { PRECISION_BYTES, Precision } from "../components/inference-cluster";
import { VLLM_CHECKPOINT_ARGS, vllmArgs } from "../components/vllm";

const PRECISIONS = Object.keys(PRECISION_BYTES) as Precision[];
const model = (precision: Precision) => ({ model: "m", precision, tensorParallelSize: 2 });

test("the table covers every precision the model arguments accept", () => {
  expect(Object.keys(VLLM_CHECKPOINT_ARGS).sort()).toEqual([...PRECISIONS].sort());
});

test.each(["fp8", "int8", "awq", "gptq"] as const)("a pre-quantized %s checkpoint: vLLM picks the method and its fast kernel itself", (precision) => {
  const args = vllmArgs(model(precision), "/models/m");
  expect(args).not.toContain("--quantization");
  expect(args).not.toContain("--dtype");
});

test.each([
  ["bf16", "bfloat16"],
  ["fp16", "float16"],
] as const)("an unquantized %s checkpoint runs in %s, never quantized on the fly", (precision, dtype) => {
  const args = vllmArgs(model(precision), "/models/m");
  expect(args).not.toContain("--quantization");
  expect(args.slice(-2)).toEqual(["--dtype", dtype]);
});

test("defaults: 8192 tokens, 90% of GPU memory, port 8000", () => {
  expect(vllmArgs(model("bf16"), "/models/m")).toEqual([
    "--model", "/models/m", "--served-model-name", "m", "--tensor-parallel-size", "2", "--max-model-len", "8192",
    "--gpu-memory-utilization", "0.9", "--port", "8000", "--dtype", "bfloat16",
  ]);
});
