// openai-node (Responses API) through each case; prints one RESULT line.
import OpenAI from "openai";
import {
  BASE_URL, FOLLOW_UP, LONG_PROMPTS, MAX_OUTPUT_TOKENS, MODEL, PROMPT, REASONING_PROMPT, SCHEMA, SCHEMA_NAME,
  STRUCTURED_PROMPT, TOOL_DESCRIPTION, TOOL_PARAMETERS, TOOL_PROMPT, TOOL_TURNS, main, weather,
} from "./common.mjs";

const client = new OpenAI({ baseURL: BASE_URL, maxRetries: 0 });
const TOOLS = [{ type: "function", name: "get_weather", description: TOOL_DESCRIPTION, parameters: TOOL_PARAMETERS, strict: true }];

async function streamText() {
  const deltas = [];
  const stream = client.responses.stream({ model: MODEL, input: PROMPT, max_output_tokens: MAX_OUTPUT_TOKENS });
  for await (const event of stream) {
    if (event.type === "response.output_text.delta") deltas.push(event.delta);
  }
  const final = await stream.finalResponse();
  return { deltas, text: final.output_text };
}

async function text() {
  const r = await client.responses.create({ model: MODEL, input: PROMPT, max_output_tokens: MAX_OUTPUT_TOKENS });
  return { text: r.output_text };
}

// The SDK decorates its output with keys of its own (`parsed` on output_text parts,
// `parsed_arguments` on function calls) that the live API refuses as input with 400 "Unknown
// parameter" (openai-python#2374 and #2720, langchain#37874), and so does the reference server.
// A client that works against the live API strips them before echoing output back.
function echoable(item) {
  const { parsed_arguments: _args, ...rest } = item;
  if (Array.isArray(rest.content)) {
    rest.content = rest.content.map(({ parsed: _parsed, ...part }) => part);
  }
  return rest;
}

async function toolLoop() {
  // The stateless pattern the SDK documents: resend finalResponse().output, then the tool results.
  const input = [{ role: "user", content: TOOL_PROMPT }];
  const calls = [];
  for (let turn = 0; turn <= TOOL_TURNS; turn++) {
    const stream = client.responses.stream({
      model: MODEL, input, tools: TOOLS, store: false, max_output_tokens: MAX_OUTPUT_TOKENS,
      tool_choice: turn < TOOL_TURNS ? "required" : "none",
    });
    const r = await stream.finalResponse();
    if (turn === TOOL_TURNS) return { tool_calls: calls, text: r.output_text };
    input.push(...r.output.map(echoable));
    for (const item of r.output) {
      if (item.type !== "function_call") continue;
      const args = JSON.parse(item.arguments);
      const output = weather(args.city);
      calls.push({ arguments: args, output });
      input.push({ type: "function_call_output", call_id: item.call_id, output });
    }
  }
}

async function reasoning() {
  const deltas = [];
  const stream = client.responses.stream({
    model: MODEL, input: REASONING_PROMPT, max_output_tokens: MAX_OUTPUT_TOKENS,
    reasoning: { effort: "low", summary: "auto" },
  });
  for await (const event of stream) {
    if (event.type === "response.reasoning_summary_text.delta") deltas.push(event.delta);
  }
  const final = await stream.finalResponse();
  const summary = final.output.filter((i) => i.type === "reasoning")
    .flatMap((i) => i.summary ?? []).map((p) => p.text).join("");
  return { summary, summary_deltas: deltas, text: final.output_text };
}

async function structured() {
  const r = await client.responses.parse({
    model: MODEL, input: STRUCTURED_PROMPT, max_output_tokens: MAX_OUTPUT_TOKENS,
    text: { format: { type: "json_schema", name: SCHEMA_NAME, schema: SCHEMA, strict: true } },
  });
  if (r.output_parsed == null) throw new Error("no parsed output");
  return { parsed: r.output_parsed, raw: r.output_text };
}

async function storeOn() {
  const first = await client.responses.create({ model: MODEL, input: PROMPT, store: true, max_output_tokens: MAX_OUTPUT_TOKENS });
  const second = await client.responses.create({
    model: MODEL, input: FOLLOW_UP, store: true, previous_response_id: first.id, max_output_tokens: MAX_OUTPUT_TOKENS,
  });
  return { texts: [first.output_text, second.output_text] };
}

async function storeOff() {
  const input = [{ role: "user", content: PROMPT }];
  const first = await client.responses.create({ model: MODEL, input, store: false, max_output_tokens: MAX_OUTPUT_TOKENS });
  input.push(...first.output, { role: "user", content: FOLLOW_UP });
  const second = await client.responses.create({ model: MODEL, input, store: false, max_output_tokens: MAX_OUTPUT_TOKENS });
  return { texts: [first.output_text, second.output_text] };
}

async function longConversation() {
  const texts = [];
  let previous;
  for (const prompt of LONG_PROMPTS) {
    const r = await client.responses.create({
      model: MODEL, input: prompt, store: true, previous_response_id: previous, max_output_tokens: MAX_OUTPUT_TOKENS,
    });
    texts.push(r.output_text);
    previous = r.id;
  }
  return { texts };
}

await main({
  stream_text: streamText, text, tool_loop: toolLoop, reasoning, structured, store_on: storeOn, store_off: storeOff,
  long_conversation: longConversation,
});
