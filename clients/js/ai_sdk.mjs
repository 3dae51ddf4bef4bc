// The Vercel AI SDK (`ai` + `@ai-sdk/openai`, Responses provider) through each case.
import { createOpenAI } from "@ai-sdk/openai";
import { Output, generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import {
  API_KEY, BASE_URL, FOLLOW_UP, LONG_PROMPTS, MAX_OUTPUT_TOKENS, MODEL, PROMPT, REASONING_PROMPT, SCHEMA, SCHEMA_NAME,
  STRUCTURED_PROMPT, TOOL_DESCRIPTION, TOOL_PARAMETERS, TOOL_PROMPT, TOOL_TURNS, main, weather,
} from "./common.mjs";

const openai = createOpenAI({ baseURL: BASE_URL, apiKey: API_KEY });
const model = openai.responses(MODEL);
const common = { model, maxOutputTokens: MAX_OUTPUT_TOKENS, maxRetries: 0 };
const deltaText = (part) => part.text ?? part.delta ?? part.textDelta ?? "";

async function streamTextCase() {
  const deltas = [];
  const result = streamText({ ...common, prompt: PROMPT });
  for await (const part of result.fullStream) {
    if (part.type === "text-delta") deltas.push(deltaText(part));
    if (part.type === "error") throw part.error;
  }
  return { deltas, text: await result.text };
}

async function text() {
  const result = await generateText({ ...common, prompt: PROMPT });
  return { text: result.text };
}

async function toolLoop() {
  const calls = [];
  const getWeather = tool({
    description: TOOL_DESCRIPTION,
    inputSchema: jsonSchema(TOOL_PARAMETERS),
    execute: async (args) => {
      const output = weather(args.city);
      calls.push({ arguments: args, output });
      return output;
    },
  });
  const result = await generateText({
    ...common, prompt: TOOL_PROMPT, tools: { get_weather: getWeather },
    stopWhen: stepCountIs(TOOL_TURNS + 1),
    prepareStep: ({ stepNumber }) => ({ toolChoice: stepNumber < TOOL_TURNS ? "required" : "none" }),
  });
  return { tool_calls: calls, text: result.text };
}

async function reasoning() {
  const deltas = [];
  const result = streamText({
    ...common, prompt: REASONING_PROMPT,
    // forceReasoning: the SDK sends reasoning options only for model ids it knows as reasoning models
    providerOptions: { openai: { forceReasoning: true, reasoningEffort: "low", reasoningSummary: "auto" } },
  });
  for await (const part of result.fullStream) {
    if (part.type === "reasoning-delta") deltas.push(deltaText(part));
    if (part.type === "error") throw part.error;
  }
  return { summary: (await result.reasoningText) ?? "", summary_deltas: deltas, text: await result.text };
}

async function structured() {
  const result = await generateText({
    ...common, prompt: STRUCTURED_PROMPT, output: Output.object({ schema: jsonSchema(SCHEMA), name: SCHEMA_NAME }),
  });
  return { parsed: result.output, raw: result.text };
}

async function storeOn() {
  const first = await generateText({ ...common, prompt: PROMPT, providerOptions: { openai: { store: true } } });
  const second = await generateText({
    ...common, prompt: FOLLOW_UP,
    providerOptions: { openai: { store: true, previousResponseId: first.providerMetadata.openai.responseId } },
  });
  return { texts: [first.text, second.text] };
}

async function storeOff() {
  const providerOptions = { openai: { store: false } };
  const messages = [{ role: "user", content: PROMPT }];
  const first = await generateText({ ...common, messages, providerOptions });
  messages.push(...first.response.messages, { role: "user", content: FOLLOW_UP });
  const second = await generateText({ ...common, messages, providerOptions });
  return { texts: [first.text, second.text] };
}

async function longConversation() {
  const texts = [];
  let previous;
  for (const prompt of LONG_PROMPTS) {
    const r = await generateText({
      ...common, prompt, providerOptions: { openai: { store: true, previousResponseId: previous } },
    });
    texts.push(r.text);
    previous = r.providerMetadata.openai.responseId;
  }
  return { texts };
}

await main({
  stream_text: streamTextCase, text, tool_loop: toolLoop, reasoning, structured, store_on: storeOn, store_off: storeOff,
  long_conversation: longConversation,
});
