// The Vercel AI SDK (`ai`) against gpt2giga, driven by conformance/tests/test_app_vercel_ai_sdk.py.
// Usage: node drive.mjs <provider>:<step> ...   (e.g. compat:tool openai-responses:stream)
// Providers: compat (@ai-sdk/openai-compatible), openai-chat (@ai-sdk/openai `.chat()`),
// openai-responses (@ai-sdk/openai `.responses()`), anthropic (@ai-sdk/anthropic).
// Steps: tool (generateText + a tool + stopWhen), stream (streamText), object (generateObject
// with a zod schema), output (generateText with Output.object).
// Every step prints one JSON line `{"step": "<provider>:<step>", …}` with what the SDK returned.
// The proxy's address comes from GPT2GIGA_URL; nothing else is contacted.
import { generateObject, generateText, Output, stepCountIs, streamText, tool } from "ai";
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { z } from "zod";

const proxy = process.env.GPT2GIGA_URL;
if (!proxy) {
  console.error("GPT2GIGA_URL is not set");
  process.exit(2);
}
const apiKey = "not-checked-by-the-proxy";

// supportsStructuredOutputs: without it the provider sends `json_object` without the schema.
const compat = createOpenAICompatible({
  name: "gigachat",
  baseURL: `${proxy}/v1`,
  apiKey,
  supportsStructuredOutputs: true,
  includeUsage: true,
});
const openai = createOpenAI({ baseURL: `${proxy}/v1`, apiKey });
const anthropic = createAnthropic({ baseURL: `${proxy}/v1`, apiKey });

const models = {
  compat: () => compat.chatModel("GigaChat-2-Max"),
  "openai-chat": () => openai.chat("gpt-4o"),
  "openai-responses": () => openai.responses("gpt-4o"),
  anthropic: () => anthropic("claude-sonnet-4-5"),
};

// Every tool call lands here, so the test can see the arguments the SDK parsed.
const toolCalls = [];
const weather = tool({
  description: "Current weather in a city",
  inputSchema: z.object({ city: z.string().describe("City name") }),
  execute: async ({ city }) => {
    toolCalls.push({ city });
    return { city, temperatureC: 21, sky: "clear-sky-7731" };
  },
});

const recipe = z.object({
  name: z.string(),
  servings: z.number().int(),
  ingredients: z.array(z.object({ item: z.string(), grams: z.number() })),
  vegetarian: z.boolean(),
});

const steps = {
  async tool(model, tag) {
    const r = await generateText({
      model,
      maxRetries: 0,
      system: "You are a weather assistant.",
      prompt: `What is the weather in Kazan? (${tag}-tool)`,
      tools: { get_weather: weather },
      stopWhen: stepCountIs(3),
    });
    return {
      text: r.text,
      steps: r.steps.length,
      finishReason: r.finishReason,
      toolCalls: r.steps.flatMap((s) => s.toolCalls.map((c) => ({ name: c.toolName, input: c.input }))),
      executed: toolCalls.slice(),
      usage: r.totalUsage,
    };
  },
  async stream(model, tag) {
    const r = streamText({ model, maxRetries: 0, prompt: `Count to four (${tag}-stream)` });
    const parts = [];
    for await (const delta of r.textStream) parts.push(delta);
    return {
      parts: parts.length,
      text: parts.join(""),
      finishReason: await r.finishReason,
      usage: await r.usage,
    };
  },
  async object(model, tag) {
    const r = await generateObject({
      model,
      maxRetries: 0,
      schema: recipe,
      schemaName: "recipe",
      prompt: `A soup recipe (${tag}-object)`,
    });
    return { object: r.object, valid: recipe.safeParse(r.object).success, finishReason: r.finishReason };
  },
  async output(model, tag) {
    const r = await generateText({
      model,
      maxRetries: 0,
      output: Output.object({ schema: recipe }),
      prompt: `A salad recipe (${tag}-output)`,
    });
    return { object: r.output, valid: recipe.safeParse(r.output).success, finishReason: r.finishReason };
  },
};

let failed = false;
for (const arg of process.argv.slice(2)) {
  const [provider, step] = arg.split(":");
  const make = models[provider];
  const run = steps[step];
  if (!make || !run) {
    console.error(`unknown step ${arg}`);
    process.exit(2);
  }
  toolCalls.length = 0;
  try {
    console.log(JSON.stringify({ step: arg, ...(await run(make(), provider)) }));
  } catch (e) {
    failed = true;
    console.log(
      JSON.stringify({
        step: arg,
        error: String(e?.message ?? e),
        status: e?.statusCode ?? null,
        body: e?.responseBody ?? null,
      }),
    );
  }
}
process.exit(failed ? 1 : 0);
