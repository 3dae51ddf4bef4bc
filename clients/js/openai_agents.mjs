// The OpenAI Agents SDK for JS (`@openai/agents`, Responses model) through each case.
import { Agent, OpenAIResponsesModel, run, setTracingDisabled, tool } from "@openai/agents";
import OpenAI from "openai";
import {
  API_KEY, BASE_URL, FOLLOW_UP, LONG_PROMPTS, MAX_OUTPUT_TOKENS, MODEL, PROMPT, REASONING_PROMPT, SCHEMA, SCHEMA_NAME,
  STRUCTURED_PROMPT, TOOL_DESCRIPTION, TOOL_PARAMETERS, TOOL_PROMPT, TOOL_TURNS, main, weather,
} from "./common.mjs";

setTracingDisabled(true);
const model = new OpenAIResponsesModel(new OpenAI({ baseURL: BASE_URL, apiKey: API_KEY, maxRetries: 0 }), MODEL);
const SETTINGS = { maxTokens: MAX_OUTPUT_TOKENS };
const agent = (options = {}) =>
  new Agent({ name: "matrix", instructions: "You are a helpful assistant.", model, ...options,
    modelSettings: { ...SETTINGS, ...(options.modelSettings ?? {}) } });

async function streamed(a, input, rawType) {
  const deltas = [];
  const result = await run(a, input, { stream: true });
  for await (const event of result) {
    if (event.type === "raw_model_stream_event" && event.data.type === "model" && event.data.event?.type === rawType) {
      deltas.push(event.data.event.delta);
    }
  }
  await result.completed;
  return { deltas, result };
}

async function streamText() {
  const { deltas, result } = await streamed(agent(), PROMPT, "response.output_text.delta");
  return { deltas, text: result.finalOutput };
}

async function text() {
  return { text: (await run(agent(), PROMPT)).finalOutput };
}

async function toolLoop() {
  const calls = [];
  const a = agent({ modelSettings: { toolChoice: "required" }, resetToolChoice: false });
  a.tools = [tool({
    name: "get_weather", description: TOOL_DESCRIPTION, parameters: TOOL_PARAMETERS, strict: true,
    execute: async (args) => {
      const output = weather(args.city);
      calls.push({ arguments: args, output });
      // enough tool turns: the next model turn must answer
      if (calls.length >= TOOL_TURNS) a.modelSettings = { ...a.modelSettings, toolChoice: "none" };
      return output;
    },
  })];
  const result = await run(a, TOOL_PROMPT);
  return { tool_calls: calls, text: result.finalOutput };
}

async function reasoning() {
  const a = agent({ modelSettings: { reasoning: { effort: "low", summary: "auto" } } });
  const { deltas, result } = await streamed(a, REASONING_PROMPT, "response.reasoning_summary_text.delta");
  const summary = result.newItems.filter((i) => i.type === "reasoning_item")
    .flatMap((i) => i.rawItem.content ?? []).map((c) => c.text).join("");
  return { summary, summary_deltas: deltas, text: result.finalOutput };
}

async function structured() {
  const a = agent({ outputType: { type: "json_schema", name: SCHEMA_NAME, strict: true, schema: SCHEMA } });
  return { parsed: (await run(a, STRUCTURED_PROMPT)).finalOutput };
}

async function storeOn() {
  const a = agent({ modelSettings: { store: true } });
  const first = await run(a, PROMPT);
  const second = await run(a, FOLLOW_UP, { previousResponseId: first.lastResponseId });
  return { texts: [first.finalOutput, second.finalOutput] };
}

async function storeOff() {
  const a = agent({ modelSettings: { store: false } });
  const first = await run(a, PROMPT);
  const second = await run(a, [...first.history, { role: "user", content: FOLLOW_UP }]);
  return { texts: [first.finalOutput, second.finalOutput] };
}

async function longConversation() {
  const a = agent({ modelSettings: { store: true } });
  const texts = [];
  let previous;
  for (const prompt of LONG_PROMPTS) {
    const result = await run(a, prompt, previous ? { previousResponseId: previous } : {});
    texts.push(result.finalOutput);
    previous = result.lastResponseId;
  }
  return { texts };
}

await main({
  stream_text: streamText, text, tool_loop: toolLoop, reasoning, structured, store_on: storeOn, store_off: storeOff,
  long_conversation: longConversation,
});
