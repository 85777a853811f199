// jest.config.js maps `typescript` here: the real package, loaded on first use (plan/lazy-require.ts
// says why). Loaded from its own file, so the mapping does not apply again.
"use strict";
const path = require("node:path");
const { lazyModule, DEFERRED_SDK_PACKAGES } = require("../../plan/lazy-require");
const main = () => path.join(path.dirname(require.resolve("typescript/package.json")), require("typescript/package.json").main);
module.exports = lazyModule(() => require(main()), DEFERRED_SDK_PACKAGES["typescript"]);
