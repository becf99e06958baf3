// Entry of the policy pack as Pulumi's analyzer host runs it. That host registers ts-node with full
// type checking, which would type-check the cloud SDKs on every run; the pack is registered here
// transpile-only with the project's tsconfig instead (type checking is `npm run typecheck`'s job).
const path = require("path");
require(path.join(__dirname, "..", "node_modules", "ts-node")).register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
require("./index.ts");
