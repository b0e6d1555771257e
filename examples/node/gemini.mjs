// Google Gen AI Node SDK (`@google/genai`), Gemini API: generateContent, then a streamed answer.
//
// Try it (no account):  gpt2giga --demo            then  cd examples/node && npm install && node gemini.mjs
// Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
// Settings: GPT2GIGA_URL (default http://localhost:8090), GPT2GIGA_API_KEY (only if the
// proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
import { GoogleGenAI } from "@google/genai";

const url = (process.env.GPT2GIGA_URL ?? "http://localhost:8090").replace(/\/+$/, "");
const model = process.env.GPT2GIGA_MODEL ?? "GigaChat";
// The base URL is the proxy's root: the SDK adds /v1beta/models/<model>:generateContent.
const ai = new GoogleGenAI({
  apiKey: process.env.GPT2GIGA_API_KEY || "unused",
  httpOptions: { baseUrl: url },
});

const response = await ai.models.generateContent({
  model,
  contents: "What is the deepest lake in the world?",
  config: { systemInstruction: "Answer in one sentence.", maxOutputTokens: 200 },
});
console.log("answer:", response.text);
console.log("finish_reason:", response.candidates[0].finishReason);

let chunks = 0;
let last = null;
for await (const chunk of await ai.models.generateContentStream({
  model,
  contents: "Write a two-line poem about Lake Baikal.",
})) {
  chunks += 1;
  last = chunk;
  process.stdout.write(chunk.text ?? "");
}
console.log(`\nstreamed ${chunks} chunks, finish_reason: ${last.candidates[0].finishReason}`);
