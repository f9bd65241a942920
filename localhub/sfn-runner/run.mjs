// s3crr's local Step Functions runner: runs an ASL definition with
// aws-local-stepfunctions and gives its Task states the effect they have in AWS.
//
//   node localhub/sfn-runner/run.mjs --definition def.json [--input in.json|-]
//        [--name NAME] [--state-machine-arn ARN] [--wait State:ms]... [--retry State:ms]...
//        [--verbose] [--start-at State --execution-input orig.json --start-time ISO]
//        [--redrive-count N]
//
// --start-at runs from that top-level state instead of StartAt, with --input as
// the state's input: how a redrive resumes from the state that failed. The
// redriven execution's $$.Execution.Input and StartTime stay the original's
// (--execution-input, --start-time), and $$.Execution.RedriveCount is
// --redrive-count (0 by default, as in Step Functions' context object).
//
// Every Task is run by a local handler chosen by its Resource, talking to the
// endpoints in AWS_ENDPOINT_URL_LAMBDA / _SNS / _DYNAMODB (the SDK reads them):
//   arn:aws:states:::lambda:invoke      Invoke; result {Payload, StatusCode, ...}
//   arn:aws:lambda:...:function:...     Invoke; result is the payload itself
//   arn:aws:states:::sns:publish        Publish
//   arn:aws:states:::dynamodb:putItem|getItem|updateItem|deleteItem
// with Step Functions' error names: a function error fails the task with the
// function's errorType as Error and its error payload as Cause; a Lambda API
// failure is Lambda.<Exception>, or Lambda.SdkClientException when Lambda could
// not be reached; SNS and DynamoDB failures are SNS.<Exception> and
// DynamoDB.<Exception>.
//
// stdout: one JSON object per line per execution event (type, state,
// elapsedMs, ...), then a last line {"type":"ExecutionResult","status":
// "SUCCEEDED"|"FAILED"|"TIMED_OUT", "output"|"error","cause", "elapsedMs"}.
// Exit code: 0 succeeded, 2 failed, 1 the runner could not run the definition.

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { StateMachine } from "./faithful.mjs";
import { LambdaClient, InvokeCommand } from "@aws-sdk/client-lambda";
import { SNSClient, PublishCommand } from "@aws-sdk/client-sns";
import {
  DynamoDBClient,
  PutItemCommand,
  GetItemCommand,
  UpdateItemCommand,
  DeleteItemCommand,
} from "@aws-sdk/client-dynamodb";

// AWS's default Task timeout is 99999999 s; aws-local-stepfunctions defaults to
// 60 s. Node timers overflow past 2^31-1 ms, so this is the closest we can get.
const NO_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** A task failure with Step Functions' Error (name) and Cause (message). */
class TaskFailure extends Error {
  constructor(error, cause) {
    super(cause);
    this.name = error;
  }
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function fatal(message) {
  process.stderr.write(`sfn-runner: ${message}\n`);
  process.exit(1);
}

function parseOverrides(list, flag) {
  const out = {};
  for (const item of list ?? []) {
    const i = item.lastIndexOf(":");
    const ms = Number(item.slice(i + 1));
    if (i <= 0 || !Number.isFinite(ms) || ms < 0) fatal(`${flag} wants State:milliseconds, got ${JSON.stringify(item)}`);
    out[item.slice(0, i)] = ms;
  }
  return out;
}

// The SDK's own retries would hide Lambda.* errors from the state's Retry; in AWS
// those reach the state machine, so make one attempt and let the ASL decide.
const lambda = new LambdaClient({ maxAttempts: 1 });
const sns = new SNSClient({});
const dynamodb = new DynamoDBClient({});

/** The response metadata Step Functions adds to a service integration's result. */
function sdkMetadata(meta) {
  return {
    SdkHttpMetadata: { HttpStatusCode: meta?.httpStatusCode ?? 200 },
    SdkResponseMetadata: { RequestId: meta?.requestId ?? "" },
  };
}

/** Step Functions' name for a failed service call: Service.Exception. */
function serviceFailure(prefix, err) {
  if (err instanceof TaskFailure) return err;
  // No HTTP response at all means the service was never reached.
  if (!err.$metadata?.httpStatusCode && prefix === "Lambda") {
    return new TaskFailure("Lambda.SdkClientException", err.message ?? String(err));
  }
  const code = err.name && err.name !== "Error" ? err.name : "ServiceException";
  return new TaskFailure(`${prefix}.${code}`, err.message ?? String(err));
}

function stripMetadata(out) {
  const { $metadata, ...rest } = out;
  return rest;
}

async function invoke(params) {
  if (typeof params?.FunctionName !== "string") {
    throw new TaskFailure("States.Runtime", "lambda:invoke needs Parameters.FunctionName");
  }
  const payload = params.Payload === undefined ? {} : params.Payload;
  let out;
  try {
    out = await lambda.send(
      new InvokeCommand({
        FunctionName: params.FunctionName,
        Qualifier: params.Qualifier,
        InvocationType: params.InvocationType,
        ClientContext: params.ClientContext,
        // Step Functions sends the Payload value as JSON, a string value included.
        Payload: new TextEncoder().encode(JSON.stringify(payload)),
      }),
    );
  } catch (err) {
    throw serviceFailure("Lambda", err);
  }
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : "";
  let body = text;
  try {
    body = text === "" ? null : JSON.parse(text);
  } catch {
    // Step Functions hands non-JSON payloads on as a string.
  }
  if (out.FunctionError) {
    // As in AWS: Error is the function's errorType, Cause its whole error payload.
    const errorType = body && typeof body === "object" && typeof body.errorType === "string" ? body.errorType : "Lambda.Unknown";
    throw new TaskFailure(errorType, text);
  }
  return { out, body };
}

const handlers = {
  "arn:aws:states:::lambda:invoke": async (params) => {
    const { out, body } = await invoke(params);
    return {
      ExecutedVersion: out.ExecutedVersion ?? "$LATEST",
      Payload: body,
      StatusCode: out.StatusCode ?? 200,
      ...sdkMetadata(out.$metadata),
    };
  },
  "arn:aws:states:::sns:publish": async (params) => {
    const input = { ...params };
    // Step Functions serialises a JSON Message for you; SNS itself wants a string.
    if (input.Message !== undefined && typeof input.Message !== "string") input.Message = JSON.stringify(input.Message);
    try {
      const out = await sns.send(new PublishCommand(input));
      return { ...stripMetadata(out), ...sdkMetadata(out.$metadata) };
    } catch (err) {
      throw serviceFailure("SNS", err);
    }
  },
};
for (const [op, Command] of Object.entries({
  putItem: PutItemCommand,
  getItem: GetItemCommand,
  updateItem: UpdateItemCommand,
  deleteItem: DeleteItemCommand,
})) {
  handlers[`arn:aws:states:::dynamodb:${op}`] = async (params) => {
    try {
      const out = await dynamodb.send(new Command(params));
      return { ...stripMetadata(out), ...sdkMetadata(out.$metadata) };
    } catch (err) {
      throw serviceFailure("DynamoDB", err);
    }
  };
}
const directLambda = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$/;

/**
 * Walks every state, Parallel branches and Map processors included, so each
 * Task gets its handler and AWS's default timeout.
 */
function prepare(machine, overrides, where = "") {
  for (const [name, state] of Object.entries(machine.States ?? {})) {
    if (state.Type === "Task") {
      const resource = state.Resource;
      let handler = handlers[resource];
      if (!handler && directLambda.test(resource)) {
        handler = async (input) => (await invoke({ FunctionName: resource, Payload: input })).body;
      }
      if (!handler) {
        fatal(`state ${where}${name}: resource ${resource} is not supported by the local runner`);
      }
      overrides[name] = handler;
      if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) {
        state.TimeoutSeconds = NO_TIMEOUT_SECONDS;
      }
    }
    if (state.ItemProcessor?.ProcessorConfig?.Mode === "DISTRIBUTED") {
      // faithful.mjs stands in for a Distributed Map's child executions over items
      // from the state input; reading items from S3, batching them and writing the
      // results to S3 are not simulated, so a definition using them is refused.
      for (const field of ["ItemReader", "ItemBatcher", "ResultWriter"]) {
        if (state[field] !== undefined) fatal(`state ${where}${name}: ${field} of a Distributed Map is not supported by the local runner`);
      }
    }
    for (const branch of state.Branches ?? []) prepare(branch, overrides, `${where}${name}/`);
    for (const child of [state.Iterator, state.ItemProcessor]) if (child) prepare(child, overrides, `${where}${name}/`);
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      definition: { type: "string" },
      input: { type: "string" },
      name: { type: "string" },
      "state-machine-arn": { type: "string" },
      wait: { type: "string", multiple: true },
      retry: { type: "string", multiple: true },
      verbose: { type: "boolean" },
      "start-at": { type: "string" },
      "execution-input": { type: "string" },
      "start-time": { type: "string" },
      "redrive-count": { type: "string" },
    },
  });
  if (!values.definition) fatal("--definition is required");
  let definition;
  let input = {};
  let executionInput;
  try {
    definition = JSON.parse(readFileSync(values.definition, "utf8"));
    if (values.input) input = JSON.parse(readFileSync(values.input === "-" ? 0 : values.input, "utf8"));
    if (values["execution-input"]) executionInput = JSON.parse(readFileSync(values["execution-input"], "utf8"));
  } catch (err) {
    fatal(`read input: ${err.message}`);
  }
  const startAt = values["start-at"];
  if (startAt !== undefined && !Object.hasOwn(definition.States ?? {}, startAt)) {
    fatal(`--start-at ${JSON.stringify(startAt)}: no such top-level state`);
  }
  const redriveCount = Number(values["redrive-count"] ?? 0);
  if (!Number.isInteger(redriveCount) || redriveCount < 0) fatal(`--redrive-count wants a count, got ${JSON.stringify(values["redrive-count"])}`);

  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
  const smArn = values["state-machine-arn"] ?? `arn:aws:states:${region}:000000000000:stateMachine:local`;
  const smName = smArn.split(":").pop();
  const execName = values.name ?? `local-${Date.now()}`;
  const context = {
    Execution: {
      Id: `${smArn.replace(":stateMachine:", ":execution:")}:${execName}`,
      Name: execName,
      RoleArn: `arn:aws:iam::${smArn.split(":")[4]}:role/local-states`,
      RedriveCount: redriveCount,
    },
    StateMachine: { Id: smArn, Name: smName },
  };

  if (executionInput !== undefined) context.Execution.Input = executionInput;
  if (values["start-time"]) context.Execution.StartTime = values["start-time"];

  const taskResourceLocalHandlers = {};
  prepare(definition, taskResourceLocalHandlers);

  let machine;
  try {
    machine = new StateMachine(definition);
    if (startAt !== undefined) {
      // Validated as written above; started elsewhere, the states before
      // startAt are unreachable, which the validator would refuse.
      machine = new StateMachine({ ...definition, StartAt: startAt }, { validationOptions: { noValidate: true } });
    }
  } catch (err) {
    fatal(err.message);
  }

  const start = Date.now();
  const execution = machine.run(input, {
    context,
    overrides: {
      taskResourceLocalHandlers,
      waitTimeOverrides: parseOverrides(values.wait, "--wait"),
      retryIntervalOverrides: parseOverrides(values.retry, "--retry"),
    },
  });
  // Settle the result alongside the events so a failure is never unhandled.
  const settled = execution.result.then(
    (output) => ({ status: "SUCCEEDED", output }),
    (err) => {
      const cause = err?.cause ?? err;
      return { status: "FAILED", error: cause?.name ?? "States.Runtime", cause: cause?.message ?? String(cause) };
    },
  );

  const entered = new Map();
  let timedOut = false;
  for await (const ev of execution.eventLogs) {
    const line = { type: ev.type, elapsedMs: ev.timestamp - start };
    if (ev.state) {
      line.state = ev.state.name;
      line.stateType = ev.state.type;
    }
    if (ev.parentState) line.parent = ev.parentState.name;
    if (ev.index !== undefined) line.index = ev.index;
    switch (ev.type) {
      case "ExecutionTimeout":
        timedOut = true; // the definition's TimeoutSeconds passed
        continue;
      case "ExecutionSucceeded":
      case "ExecutionFailed":
      case "ExecutionAborted":
        continue; // the ExecutionResult line below says it once
      case "StateEntered":
        entered.set(ev.state.name, ev.timestamp);
        if (values.verbose) line.input = ev.state.input;
        break;
      case "StateExited":
        line.durationMs = ev.timestamp - (entered.get(ev.state.name) ?? ev.timestamp);
        if (values.verbose) line.output = ev.state.output;
        break;
      case "StateFailed":
        line.error = ev.Error;
        line.cause = ev.Cause;
        break;
      case "StateRetried":
        line.attempt = ev.retry.attempt;
        line.errorEquals = ev.retry.retrier.ErrorEquals;
        break;
      case "StateCaught":
        line.errorEquals = ev.catch.catcher.ErrorEquals;
        line.next = ev.catch.catcher.Next;
        break;
      case "ParallelBranchFailed":
      case "MapIterationFailed":
        line.error = ev.Error;
        line.cause = ev.Cause;
        break;
    }
    emit(line);
  }
  let result = await settled;
  // Step Functions ends such an execution TIMED_OUT with error States.Timeout.
  if (timedOut) result = { status: "TIMED_OUT", error: "States.Timeout", cause: "The execution ran longer than the state machine's TimeoutSeconds." };
  // Exit only once the result line is written: stdout to a pipe is asynchronous, and
  // process.exit drops what is still queued, so a result longer than the pipe's buffer
  // (a Map's outputs) would be cut off.
  process.stdout.write(
    JSON.stringify({ type: "ExecutionResult", ...result, executionArn: context.Execution.Id, elapsedMs: Date.now() - start }) + "\n",
    () => process.exit(result.status === "SUCCEEDED" ? 0 : 2),
  );
}

main().catch((err) => fatal(err?.stack ?? String(err)));
