/**
 * The bare program (bench/bare-program.ts) with what the plan's command line does first: the SDK's
 * function-serialization packages loaded only on use (plan/lazy-require.ts). Against it, the plan's
 * ratio is its own cost beyond registering, like for like.
 */
import "../plan/defer-sdk-packages";
import "./bare-program";
