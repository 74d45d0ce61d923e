// One ecs-sidekick Lambda calling another with a direct payload `{route, input}`: the operate
// Lambda asks a config-files Lambda to write and the signal Lambda to validate. Errors come
// back as the same classes, so a 409 from the files Lambda is a 409 to the API caller.

import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { errorFromInvocation, UpstreamError } from './errors';

export type Invoke = (
  functionName: string,
  route: string,
  input: Record<string, unknown>,
) => Promise<unknown>;

export function lambdaInvoker(lambda: LambdaClient): Invoke {
  return async (functionName, route, input) => {
    const out = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        Payload: Buffer.from(JSON.stringify({ route, input })),
      }),
    );
    const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : 'null';
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch (error) {
      throw new UpstreamError(`${functionName} returned a payload that is not JSON`, { cause: error });
    }
    if (out.FunctionError) throw invocationError(payload, functionName);
    return payload;
  };
}

/** An asynchronous invocation (InvocationType Event): queued by Lambda, nothing comes back. */
export function lambdaEventInvoker(lambda: LambdaClient): Invoke {
  return async (functionName, route, input) => {
    await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify({ route, input })),
      }),
    );
    return null;
  };
}

/** The error another Lambda reported, as the class it threw. */
export function invocationError(payload: unknown, functionName: string): Error {
  const p = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
  const type = typeof p.errorType === 'string' ? p.errorType : 'Error';
  const message = typeof p.errorMessage === 'string' ? p.errorMessage : `${functionName} failed`;
  return errorFromInvocation(type, message);
}
