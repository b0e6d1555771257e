// OpenAI Node SDK (`openai`), Chat Completions: one answer, then the same kind of request streamed.
//
// Try it (no account):  gpt2giga --demo            then  cd examples/node && npm install && node openai.mjs
// Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
// Settings: GPT2GIGA_URL (default http://localhost:8090), GPT2GIGA_API_KEY (only if the
// proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
import OpenAI from "openai";

const url = (process.env.GPT2GIGA_URL ?? "http://localhost:8090").replace(/\/+$/, "");
const model = process.env.GPT2GIGA_MODEL ?? "GigaChat";
// The SDK insists on a key; any text works while the proxy's API key is off.
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: process.env.GPT2GIGA_API_KEY || "unused" });

const completion = await client.chat.completions.create({
  model,
  messages: [
    { role: "system", content: "Answer in one sentence." },
    { role: "user", content: "What is the tallest mountain in Russia?" },
  ],
});
console.log("answer:", completion.choices[0].message.content);
console.log("usage:", completion.usage.total_tokens, "tokens");

const stream = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: "Name three Russian lakes." }],
  stream: true,
});
let pieces = 0;
let finish = null;
for await (const chunk of stream) {
  const choice = chunk.choices[0];
  if (choice?.delta?.content) {
    pieces += 1;
    process.stdout.write(choice.delta.content);
  }
  if (choice?.finish_reason) finish = choice.finish_reason;
}
console.log(`\nstreamed ${pieces} pieces, finish_reason: ${finish}`);
