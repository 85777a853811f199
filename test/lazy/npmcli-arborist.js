// jest.config.js maps `@npmcli/arborist` here: the real package, loaded on first use (plan/lazy-require.ts
// says why). Loaded from its own file, so the mapping does not apply again.
"use strict";
const path = require("node:path");
const { lazyModule, DEFERRED_SDK_PACKAGES } = require("../../plan/lazy-require");
const main = () => path.join(path.dirname(require.resolve("@npmcli/arborist/package.json")), require("@npmcli/arborist/package.json").main);
module.exports = lazyModule(() => require(main()), DEFERRED_SDK_PACKAGES["@npmcli/arborist"]);
