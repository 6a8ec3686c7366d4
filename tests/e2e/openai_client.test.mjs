// The official OpenAI Node client against a running fabric daemon.
//
// Run by run_e2e.sh, which starts the daemon and sets FABRIC_HTTP_URL and FABRIC_MODEL:
//   node --test tests/e2e/openai_client.test.mjs
// Greedy requests (temperature 0) are deterministic, so a streamed reply must equal the unary
// reply to the same request, token for token.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import OpenAI from 'openai';

const baseUrl = process.env.FABRIC_HTTP_URL;
const model = process.env.FABRIC_MODEL ?? 'stories260K';
if (!baseUrl) throw new Error('FABRIC_HTTP_URL is not set: run this through tests/e2e/run_e2e.sh');

const client = new OpenAI({
  baseURL: `${baseUrl}/v1`,
  apiKey: 'not-checked',
  maxRetries: 0, // an error must surface as it is, not be retried away
  timeout: 60_000,
});

const MAX_TOKENS = 24;
const completionRequest = {
  model,
  prompt: 'Once upon a time',
  temperature: 0,
  max_tokens: MAX_TOKENS,
};
const chatRequest = {
  model,
  messages: [{ role: 'user', content: 'Tell me a story about a cat.' }],
  temperature: 0,
  max_tokens: MAX_TOKENS,
};

function checkUsage(usage, { maxTokens, finishReason }) {
  assert.ok(usage, 'usage is present');
  assert.ok(Number.isInteger(usage.prompt_tokens) && usage.prompt_tokens > 0, 'prompt_tokens > 0');
  assert.ok(Number.isInteger(usage.completion_tokens) && usage.completion_tokens > 0,
            'completion_tokens > 0');
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
  assert.ok(usage.completion_tokens <= maxTokens, 'completion_tokens <= max_tokens');
  if (finishReason === 'length') {
    assert.equal(usage.completion_tokens, maxTokens, "finish_reason 'length' means max_tokens were made");
  }
}

// Collects a stream's chunks, checking what every chunk of one call shares.
async function collect(stream, object) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.ok(chunks.length >= 2, `a stream of ${chunks.length} chunks`);
  for (const chunk of chunks) {
    assert.equal(chunk.object, object);
    assert.equal(chunk.model, model);
    assert.equal(chunk.id, chunks[0].id, 'every chunk carries the call id');
  }
  return chunks;
}

test('models.list lists the served model', async () => {
  const ids = [];
  for await (const card of client.models.list()) {
    assert.equal(card.object, 'model');
    assert.equal(typeof card.owned_by, 'string');
    assert.ok(Number.isInteger(card.created));
    ids.push(card.id);
  }
  assert.deepEqual(ids, [model]);
});

test('completions: greedy unary replies are identical, with consistent usage', async () => {
  const first = await client.completions.create(completionRequest);
  const second = await client.completions.create(completionRequest);
  assert.equal(first.object, 'text_completion');
  assert.equal(first.model, model);
  assert.equal(first.choices.length, 1);
  const choice = first.choices[0];
  assert.equal(choice.index, 0);
  assert.ok(choice.text.length > 0, 'some text was generated');
  assert.ok(['stop', 'length'].includes(choice.finish_reason), choice.finish_reason);
  checkUsage(first.usage, { maxTokens: MAX_TOKENS, finishReason: choice.finish_reason });
  assert.notEqual(first.id, second.id, 'each call has its own id');
  assert.equal(second.choices[0].text, choice.text, 'greedy decoding is deterministic');
  assert.equal(second.choices[0].finish_reason, choice.finish_reason);
  assert.deepEqual(second.usage, first.usage);
});

test('completions: streamed chunks concatenate to the unary text', async () => {
  const unary = await client.completions.create(completionRequest);
  const stream = await client.completions.create({ ...completionRequest, stream: true });
  const chunks = await collect(stream, 'text_completion');
  const text = chunks.map((c) => c.choices.map((choice) => choice.text).join('')).join('');
  assert.equal(text, unary.choices[0].text);
  const finishes = chunks.flatMap((c) => c.choices).filter((choice) => choice.finish_reason);
  assert.deepEqual(finishes.map((choice) => choice.finish_reason), [unary.choices[0].finish_reason],
                   'exactly one chunk, the last, carries the finish reason');
  assert.equal(chunks.at(-1).choices[0].finish_reason, unary.choices[0].finish_reason);
  assert.ok(chunks.every((c) => !c.usage), 'no usage without stream_options.include_usage');
});

test('completions: stream_options.include_usage ends with a usage chunk', async () => {
  const unary = await client.completions.create(completionRequest);
  const stream = await client.completions.create({
    ...completionRequest,
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = await collect(stream, 'text_completion');
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, [], 'the usage chunk has no choices');
  assert.deepEqual(last.usage, unary.usage);
  for (const chunk of chunks.slice(0, -1)) assert.equal(chunk.usage, null, 'usage: null before the last');
  const text = chunks.flatMap((c) => c.choices).map((choice) => choice.text).join('');
  assert.equal(text, unary.choices[0].text);
});

test('chat.completions: greedy unary replies are identical, from the assistant', async () => {
  const first = await client.chat.completions.create(chatRequest);
  const second = await client.chat.completions.create(chatRequest);
  assert.equal(first.object, 'chat.completion');
  assert.equal(first.model, model);
  assert.equal(first.choices.length, 1);
  const choice = first.choices[0];
  assert.equal(choice.message.role, 'assistant');
  assert.equal(typeof choice.message.content, 'string');
  assert.ok(choice.message.content.length > 0, 'some text was generated');
  assert.ok(['stop', 'length'].includes(choice.finish_reason), choice.finish_reason);
  checkUsage(first.usage, { maxTokens: MAX_TOKENS, finishReason: choice.finish_reason });
  assert.equal(second.choices[0].message.content, choice.message.content);
  assert.deepEqual(second.usage, first.usage);
});

test('chat.completions: streaming starts with the assistant role and matches unary', async () => {
  const unary = await client.chat.completions.create(chatRequest);
  const stream = await client.chat.completions.create({ ...chatRequest, stream: true });
  const chunks = await collect(stream, 'chat.completion.chunk');
  assert.equal(chunks[0].choices[0].delta.role, 'assistant', 'the first delta has the role');
  for (const chunk of chunks.slice(1)) {
    for (const choice of chunk.choices) assert.equal(choice.delta.role, undefined, 'role only once');
  }
  const content = chunks.flatMap((c) => c.choices).map((choice) => choice.delta.content ?? '').join('');
  assert.equal(content, unary.choices[0].message.content);
  assert.equal(chunks.at(-1).choices[0].finish_reason, unary.choices[0].finish_reason);
});

test('chat.completions: stream_options.include_usage ends with a usage chunk', async () => {
  const unary = await client.chat.completions.create(chatRequest);
  const stream = await client.chat.completions.create({
    ...chatRequest,
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = await collect(stream, 'chat.completion.chunk');
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.deepEqual(last.usage, unary.usage);
  for (const chunk of chunks.slice(0, -1)) assert.equal(chunk.usage, null);
});

test('an unknown model raises NotFoundError (404)', async () => {
  for (const call of [
    () => client.completions.create({ ...completionRequest, model: 'no-such-model' }),
    () => client.completions.create({ ...completionRequest, model: 'no-such-model', stream: true }),
    () => client.chat.completions.create({ ...chatRequest, model: 'no-such-model' }),
  ]) {
    await assert.rejects(call, (error) => {
      assert.ok(error instanceof OpenAI.NotFoundError, `${error.constructor.name}: ${error.message}`);
      assert.equal(error.status, 404);
      assert.equal(error.code, 'model_not_found');
      assert.match(error.message, /no-such-model/);
      return true;
    });
  }
});

test('a temperature out of range raises BadRequestError (400)', async () => {
  for (const call of [
    () => client.completions.create({ ...completionRequest, temperature: 5 }),
    () => client.chat.completions.create({ ...chatRequest, temperature: -1, stream: true }),
  ]) {
    await assert.rejects(call, (error) => {
      assert.ok(error instanceof OpenAI.BadRequestError, `${error.constructor.name}: ${error.message}`);
      assert.equal(error.status, 400);
      assert.equal(error.type, 'invalid_request_error');
      assert.match(error.message, /temperature/);
      return true;
    });
  }
});

test('a prompt longer than the context raises BadRequestError (400)', async () => {
  const prompt = new Array(600).fill(100); // token ids; the context is 512
  await assert.rejects(client.completions.create({ ...completionRequest, prompt }), (error) => {
    assert.ok(error instanceof OpenAI.BadRequestError, `${error.constructor.name}: ${error.message}`);
    assert.equal(error.status, 400);
    assert.equal(error.code, 'context_length_exceeded');
    return true;
  });
});

// The daemon's fabric_request_success_total summed over finish reasons, and the requests it is
// running, from /metrics.
async function requestCounts() {
  const response = await fetch(`${baseUrl}/metrics`);
  assert.equal(response.status, 200);
  let finished = 0;
  let running;
  for (const line of (await response.text()).split('\n')) {
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('fabric_request_success_total{')) finished += value;
    if (line.startsWith('fabric_num_requests_running ')) running = value;
  }
  return { finished, running };
}

test('leaving a stream early ends the request, and the daemon serves on', async () => {
  const before = await requestCounts();
  const stream = await client.completions.create({ ...completionRequest, max_tokens: 400, stream: true });
  let received = 0;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'text_completion');
    if (++received === 3) break; // the client aborts the HTTP request
  }
  // The daemon ends the request (cancelled, or finished if it was faster than the
  // cancellation) and accounts for it: wait for that, bounded.
  const want = { finished: before.finished + 1, running: 0 };
  const deadline = Date.now() + 10_000;
  let counts = await requestCounts();
  while ((counts.finished !== want.finished || counts.running !== 0) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    counts = await requestCounts();
  }
  assert.deepEqual(counts, want);
  const after = await client.completions.create(completionRequest);
  assert.ok(after.choices[0].text.length > 0);
});
