// aws-local-stepfunctions 3.0.0, with the places where it departs from Step
// Functions corrected. The library keeps these in module-private code, so we
// load its CommonJS build with the corrections applied to the source text.
// Each correction must match exactly once, or loading fails: a new version of
// the library has to be looked at, not silently run uncorrected.

import { readFileSync } from "node:fs";
import { createRequire, Module } from "node:module";
import { dirname } from "node:path";

const corrections = [
  {
    // Every string an intrinsic function returns lost all its backslashes, so
    // States.JsonToString of a value holding a quote gave invalid JSON. Step
    // Functions only unescapes the \' \{ \} \\ escapes of literal arguments.
    why: "intrinsic results keep their backslashes",
    find: 'result = result.replaceAll("\\\\", "");',
    replace: "",
  },
  {
    why: "literal intrinsic arguments are unescaped instead",
    find: "return arg.slice(1, lastSingleQuote);",
    replace: "return arg.slice(1, lastSingleQuote).replace(/\\\\(.)/g, \"$1\");",
  },
  {
    // The context object's Execution.Input and StartTime were always this run's
    // input and clock. A redriven execution resumes at a later state with that
    // state's input, but in Step Functions $$.Execution keeps the original
    // execution's input and start time; the runner passes them when it has them.
    why: "a redrive keeps $$.Execution.Input and StartTime",
    find: "Input: input,\n        StartTime: (/* @__PURE__ */ new Date()).toISOString()",
    replace:
      "Input: options.runOptions?.context?.Execution?.Input ?? input,\n        StartTime: options.runOptions?.context?.Execution?.StartTime ?? (/* @__PURE__ */ new Date()).toISOString()",
  },
  {
    // ResultPath "$" set a key named "$" instead of replacing the input.
    why: 'ResultPath "$" replaces the whole input',
    find: 'const sanitizedPath = path.replace("$.", "");',
    replace: 'if (path === "$") return result;\n  const sanitizedPath = path.replace("$.", "");',
  },
  {
    // An indefinite path ($..x, [*], filters, slices, unions) always yields a
    // list in Step Functions, even of one or no match; the library unwrapped a
    // single match and failed on none.
    why: "indefinite paths yield a list",
    find: "evaluation = (0, import_jsonpath_plus.JSONPath)({ path: pathExpression.slice(1), json: context ?? null, wrap: false });",
    replace:
      "evaluation = (0, import_jsonpath_plus.JSONPath)({ path: pathExpression.slice(1), json: context ?? null, wrap: __s3crrIndefinite(pathExpression) });",
  },
  {
    why: "indefinite paths yield a list",
    find: "evaluation = (0, import_jsonpath_plus.JSONPath)({ path: pathExpression, json, wrap: false });",
    replace: "evaluation = (0, import_jsonpath_plus.JSONPath)({ path: pathExpression, json, wrap: __s3crrIndefinite(pathExpression) });",
  },
];

const helper = `
function __s3crrIndefinite(p) {
  return p.includes("..") || p.includes("*") || p.includes("?(") || /\\[[^\\]]*[,:][^\\]]*\\]/.test(p);
}
`;

const require = createRequire(import.meta.url);
const libPath = require.resolve("aws-local-stepfunctions"); // the CommonJS build

let source = readFileSync(libPath, "utf8");
for (const c of corrections) {
  const count = source.split(c.find).length - 1;
  if (count !== 1) {
    throw new Error(`aws-local-stepfunctions at ${libPath} is not the version this runner corrects (${c.why}: found ${count} matches)`);
  }
  source = source.replace(c.find, () => c.replace);
}
source += helper;

const mod = new Module(libPath);
mod.filename = libPath;
mod.paths = Module._nodeModulePaths(dirname(libPath));
mod._compile(source, libPath);

/** The corrected StateMachine class. */
export const { StateMachine } = mod.exports;
