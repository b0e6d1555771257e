// Anthropic Node SDK (`@anthropic-ai/sdk`), Messages: one answer, then a streamed one.
//
// Try it (no account):  gpt2giga --demo            then  cd examples/node && npm install && node anthropic.mjs
// Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
// Settings: GPT2GIGA_URL (default http://localhost:8090), GPT2GIGA_API_KEY (only if the
// proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
import Anthropic from "@anthropic-ai/sdk";

const url = (process.env.GPT2GIGA_URL ?? "http://localhost:8090").replace(/\/+$/, "");
const model = process.env.GPT2GIGA_MODEL ?? "GigaChat";
// Anthropic's base URL is the proxy's root (no /v1): the SDK adds /v1/messages itself.
const client = new Anthropic({ baseURL: url, apiKey: process.env.GPT2GIGA_API_KEY || "unused" });

const message = await client.messages.create({
  model,
  max_tokens: 300,
  system: "Answer in one sentence.",
  messages: [{ role: "user", content: "Who painted 'The Ninth Wave'?" }],
});
const text = message.content.filter((b) => b.type === "text").map((b) => b.text).join("");
console.log("answer:", text);
console.log("stop_reason:", message.stop_reason);

const stream = client.messages.stream({
  model,
  max_tokens: 300,
  messages: [{ role: "user", content: "Name three Russian poets." }],
});
stream.on("text", (delta) => process.stdout.write(delta));
const final = await stream.finalMessage();
console.log(`\nstreamed; stop_reason: ${final.stop_reason}, output tokens: ${final.usage.output_tokens}`);
