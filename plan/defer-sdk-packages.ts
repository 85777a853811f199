/**
 * Imported first by the command-line entry points (`plan/cli.ts`, `plan/runbook-cli.ts`), before
 * anything loads `@pulumi/pulumi`: see {@link deferSdkSerializerPackages}.
 */
import { deferSdkSerializerPackages } from "./lazy-require";

deferSdkSerializerPackages();
