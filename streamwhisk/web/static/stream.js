// Reads the streamer's answer: NDJSON, one complete message per line (blank lines are
// keep-alives). Yields each message as soon as its line is complete.

// The stream's message keys: a mirror of streamwhisk/stream/schema.py, their one home; keep
// the two the same. `done` is the relay's last message, with `result` or `error`.
export const OUTPUT = "output";
export const THINKING = "thinking";
export const STATE = "state";
export const ERROR = "error";
export const DONE = "done";
export const RESULT = "result";

export async function* readMessages(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.trim()) yield JSON.parse(line);
      }
    }
    if (buffer.trim()) yield JSON.parse(buffer);
  } finally {
    reader.releaseLock();
  }
}
