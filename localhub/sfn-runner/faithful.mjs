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
  {
    // The library runs a Distributed Map like an inline one: iterations share the
    // parent's context ($$.Execution is the parent's), at most 40 at once when
    // MaxConcurrency is 0, and the first failed iteration fails the state whatever
    // ToleratedFailurePercentage / ToleratedFailureCount say. __s3crrDistributedMap
    // runs each item as a child workflow execution instead, as Step Functions
    // documents it (docs/aws-facts.md#F-SFN-DISTRIBUTED-MAP); run.mjs refuses the
    // fields it does not stand in for (ItemReader, ItemBatcher, ResultWriter).
    why: "a Distributed Map runs child workflow executions",
    find: "    const state = this.stateDefinition;\n    let items = input;",
    replace:
      '    if (this.stateDefinition.ItemProcessor?.ProcessorConfig?.Mode === "DISTRIBUTED") return __s3crrDistributedMap(this, input, context, options);\n    const state = this.stateDefinition;\n    let items = input;',
  },
];

const helper = `
function __s3crrIndefinite(p) {
  return p.includes("..") || p.includes("*") || p.includes("?(") || /\\[[^\\]]*[,:][^\\]]*\\]/.test(p);
}

// A Distributed Map state, as Step Functions documents it: each item (through
// ItemSelector, which sees $$.Map.Item) is the input of a child workflow execution
// of the ItemProcessor, with its own context ($$.Execution.Id is
// <state machine>/<Label>:<id>, $$.Execution.Input the child's input); at most
// MaxConcurrency run at once (0 or none: up to 10,000); a failed child does not
// stop the others; when the failed children exceed ToleratedFailurePercentage or
// ToleratedFailureCount (neither set: any failure), the state fails with
// States.ExceedToleratedFailureThreshold; otherwise its result is the children's
// outputs in item order, a failed child's as {Error, Cause}.
async function __s3crrDistributedMap(action, input, context, options) {
  const state = action.stateDefinition;
  let items = input;
  if (state.ItemsPath) {
    items = jsonPathQuery(state.ItemsPath, input, context, { constraints: [ArrayConstraint] });
  }
  if (!Array.isArray(items)) {
    throw new StatesRuntimeError("Input of Map state must be an array or ItemsPath property must point to an array");
  }
  const machine = new StateMachine(state.ItemProcessor, { ...options.stateMachineOptions, validationOptions: { noValidate: true } });
  let maxConcurrency = state.MaxConcurrency;
  if (state.MaxConcurrencyPath) {
    maxConcurrency = jsonPathQuery(state.MaxConcurrencyPath, input, context, {
      constraints: [IntegerConstraint.greaterThanOrEqual(0)],
      ignoreDefinedValueConstraint: true
    });
  }
  const limit = (0, import_p_limit.default)(maxConcurrency || 10000);
  const parentId = context.Execution?.Id ?? "";
  const sm = parentId.slice(0, parentId.lastIndexOf(":"));
  const label = state.Label ?? action.stateName;
  const { randomUUID } = require("node:crypto");
  let failed = 0;
  const runs = items.map((item, index) => limit(async () => {
    const selectContext = { ...context, Map: { Item: { Index: index, Value: item } } };
    const childInput = state.ItemSelector ? processPayloadTemplate(state.ItemSelector, input, selectContext) : item;
    const id = randomUUID();
    const childContext = {
      ...context,
      Execution: { ...context.Execution, Id: sm + "/" + label + ":" + id, Name: id, Input: childInput, StartTime: new Date().toISOString() },
    };
    delete childContext.Map;
    const execution = machine.run(childInput, { ...options.runOptions, context: childContext });
    action.executionAbortFuncs.push(execution.abort);
    action.forwardEventsToRootEventLogger(options.eventLogger, execution.eventLogs, index, options.rawInput);
    try {
      return await execution.result;
    } catch (err) {
      failed++;
      const cause = err instanceof ExecutionError ? err.cause : err;
      return { Error: cause?.name ?? "States.Runtime", Cause: cause?.message ?? String(cause) };
    }
  }));
  const results = await Promise.all(runs);
  const percent = state.ToleratedFailurePercentage;
  const count = state.ToleratedFailureCount;
  const exceeded = items.length > 0 && (
    (percent === undefined && count === undefined && failed > 0) ||
    (percent !== undefined && (failed * 100) / items.length > percent) ||
    (count !== undefined && failed > count));
  if (exceeded) {
    const err = new RuntimeError(failed + " of " + items.length + " child workflow executions failed, more than the Map Run tolerates");
    err.name = "States.ExceedToleratedFailureThreshold";
    throw err;
  }
  return action.buildExecutionResult(results);
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
