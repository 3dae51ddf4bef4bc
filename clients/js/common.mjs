// What every JS client script shares: the server address, the tool, the schema, the output.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";

export const BASE_URL = process.env.CLIENTS_BASE_URL;
export const MODEL = process.env.CLIENTS_MODEL ?? "gpt-oss";
export const API_KEY = "sk-clients-matrix";
process.env.OPENAI_API_KEY ??= API_KEY;
process.env.OPENAI_BASE_URL ??= BASE_URL;
// The Agents SDK would otherwise upload traces to api.openai.com.
process.env.OPENAI_AGENTS_DISABLE_TRACING ??= "1";

export const PROMPT = "Say hello in one short sentence.";
export const TOOL_PROMPT = "What is the weather in Paris? Use get_weather.";
export const TOOL_DESCRIPTION = "Current weather of a city.";
export const TOOL_PARAMETERS = {
  type: "object",
  properties: { city: { type: "string", description: "city name" } },
  required: ["city"],
  additionalProperties: false,
};
export const SCHEMA_NAME = "weather_report";
export const SCHEMA = JSON.parse(readFileSync(new URL("../weather_report.schema.json", import.meta.url)));
export const STRUCTURED_PROMPT = "Give the weather report for Paris as JSON.";
export const REASONING_PROMPT = "Think briefly, then say which is larger: 9.11 or 9.9.";
export const FOLLOW_UP = "Now say goodbye in one short sentence.";
// long_conversation: enough turns, each with a long message, to grow the prompt past 256 and 512
// tokens (the KV cache's capacity boundaries) while every turn reuses the previous turn's prefix.
export const LONG_TURNS = 6;
const LONG_FILLER = "Here is some background for this turn: the city of Paris lies on the Seine, has twenty "
  + "arrondissements, many bridges, several large parks, two major airports and a dense "
  + "metro network; please keep all of this in mind for the rest of our conversation.";
export const LONG_PROMPTS = Array.from({ length: LONG_TURNS },
  (_, i) => `Turn ${i + 1}. ${LONG_FILLER} Reply with one short sentence.`);
export const MAX_OUTPUT_TOKENS = 256;
// Tool turns the client runs before the model is told to answer (tool_choice "none").
export const TOOL_TURNS = 2;

// The tool: its output carries a fresh token so the harness can find it in later requests.
export function weather(city) {
  return `${city}: 21 C, sunny (report ${randomUUID().slice(0, 12)})`;
}

// Runs the case named on the command line and prints one RESULT line.
export async function main(cases) {
  const name = process.argv[2];
  if (!(name in cases)) {
    console.error(`usage: node script.mjs CASE (one of ${Object.keys(cases).join(", ")})`);
    process.exit(2);
  }
  try {
    console.log("RESULT " + JSON.stringify(await cases[name]()));
  } catch (err) {
    // one line the matrix can quote: the client's own error text
    console.error(err?.stack ?? err);
    console.error(`ERROR ${err?.name ?? "Error"}: ${String(err?.message ?? err).split("\n")[0]}`);
    process.exit(1);
  }
}
