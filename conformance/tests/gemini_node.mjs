// The npm Gemini SDK (`@google/genai`) against the proxy, driven by test_gemini_node.py:
// one step per argument, each printing one JSON line `{"step": …, …}` with what the SDK
// returned. The base URL and key come from the environment (GEMINI_BASE_URL,
// GEMINI_API_KEY).
import { GoogleGenAI, FinishReason } from "@google/genai";

const ai = new GoogleGenAI({
  apiKey: process.env.GEMINI_API_KEY,
  httpOptions: { baseUrl: process.env.GEMINI_BASE_URL },
});
const model = "gemini-2.5-flash";
const out = (step, v) => console.log(JSON.stringify({ step, ...v }));

const steps = {
  async generate() {
    const r = await ai.models.generateContent({
      model,
      contents: "Say hello (node-generate)",
      config: { systemInstruction: "Be brief.", maxOutputTokens: 40 },
    });
    out("generate", {
      text: r.text,
      finish: r.candidates[0].finishReason,
      stop: r.candidates[0].finishReason === FinishReason.STOP,
      usage: r.usageMetadata,
    });
  },
  async stream() {
    const chunks = [];
    for await (const c of await ai.models.generateContentStream({
      model,
      contents: "Count (node-stream)",
    })) {
      chunks.push(c);
    }
    out("stream", {
      chunks: chunks.length,
      text: chunks.map((c) => c.text ?? "").join(""),
      finish: chunks.at(-1).candidates[0].finishReason,
      usage: chunks.at(-1).usageMetadata,
    });
  },
  async tools() {
    const declaration = {
      name: "get_weather",
      description: "Weather in a city",
      parametersJsonSchema: {
        type: "object",
        properties: { city: { type: "string" } },
        required: ["city"],
      },
    };
    const chat = ai.chats.create({
      model,
      config: { tools: [{ functionDeclarations: [declaration] }] },
    });
    const first = await chat.sendMessage({ message: "Weather in Kazan? (node-tools)" });
    const calls = first.functionCalls ?? [];
    const second = await chat.sendMessage({
      message: calls.map((c) => ({
        functionResponse: { id: c.id, name: c.name, response: { output: "sunny" } },
      })),
    });
    out("tools", { calls, text: second.text, history: chat.getHistory().length });
  },
  async count() {
    const r = await ai.models.countTokens({ model, contents: "Hello, world!" });
    out("count", { total: r.totalTokens });
  },
  async embed() {
    const r = await ai.models.embedContent({
      model: "gemini-embedding-001",
      contents: ["alpha", "beta"],
    });
    out("embed", { n: r.embeddings.length, dims: r.embeddings[0].values.length });
  },
  async list() {
    const names = [];
    const pager = await ai.models.list({ config: { pageSize: 2 } });
    for await (const m of pager) names.push(m.name);
    out("list", { names });
  },
  async error() {
    try {
      await ai.models.generateContent({
        model,
        contents: "x",
        config: { tools: [{ codeExecution: {} }] },
      });
      out("error", { thrown: false });
    } catch (e) {
      out("error", { thrown: true, status: e.status, message: String(e.message) });
    }
  },
};

for (const name of process.argv.slice(2)) {
  await steps[name]();
}
