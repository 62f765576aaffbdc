/** The code the Server page offers to copy: the same request in curl, JavaScript (openai) and Python (openai). */
export interface SnippetInput {
  baseUrl: string; // e.g. http://127.0.0.1:8188/v1
  model: string;
  apiKeyRequired: boolean;
}

export function snippets({ baseUrl, model, apiKeyRequired }: SnippetInput) {
  const m = JSON.stringify(model);
  const keyHeader = apiKeyRequired ? ` -H "authorization: Bearer $PLAS_API_KEY"` : '';
  const jsKey = apiKeyRequired ? 'process.env.PLAS_API_KEY' : "'unused'";
  const pyKey = apiKeyRequired ? 'os.environ["PLAS_API_KEY"]' : '"unused"';
  return {
    curl: `curl ${baseUrl}/chat/completions -H 'content-type: application/json'${keyHeader} \\
  -d '{"model": ${m}, "messages": [{"role": "user", "content": "Who are you?"}], "max_tokens": 40}'`,
    javascript: `import OpenAI from 'openai';

const client = new OpenAI({ baseURL: '${baseUrl}', apiKey: ${jsKey} });
const stream = await client.chat.completions.create({
  model: ${m},
  messages: [{ role: 'user', content: 'Who are you?' }],
  max_tokens: 40,
  stream: true,
});
for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? '');`,
    python: `${apiKeyRequired ? 'import os\n' : ''}from openai import OpenAI

client = OpenAI(base_url="${baseUrl}", api_key=${pyKey})
stream = client.chat.completions.create(
    model=${m},
    messages=[{"role": "user", "content": "Who are you?"}],
    max_tokens=40,
    stream=True,
)
for chunk in stream:
    print(chunk.choices[0].delta.content or "", end="", flush=True)`,
  };
}
