// The unmodified @rails/actioncable client, signed in with a session cookie, subscribed to
// TodosChannel. Usage: node todos.mjs ws://HOST:PORT/cable "_trifecta_session=..."
// Prints one JSON event per line (connected, received, changes, rejected); exits on "quit" or EOF.
import readline from "node:readline";
import WebSocket from "ws";
import * as ActionCable from "@rails/actioncable";

const [url, cookie] = process.argv.slice(2);
if (!url || !cookie) {
  console.error("usage: node todos.mjs ws://host:port/cable COOKIE");
  process.exit(2);
}
const origin = new URL(url.replace(/^ws/, "http")).origin;
globalThis.addEventListener ??= () => {};
globalThis.removeEventListener ??= () => {};
globalThis.document ??= { visibilityState: "visible", addEventListener() {}, removeEventListener() {} };

class CookieWebSocket extends WebSocket {
  constructor(address, protocols) {
    super(address, protocols, { headers: { Origin: origin, Cookie: cookie } });
  }
}
ActionCable.adapters.WebSocket = CookieWebSocket;
ActionCable.logger.enabled = Boolean(process.env.CABLE_JS_DEBUG);

const emit = (event) => process.stdout.write(JSON.stringify(event) + "\n");
const consumer = ActionCable.createConsumer(url);
consumer.subscriptions.create({ channel: "TodosChannel" }, {
  connected() {
    emit({ event: "connected" });
  },
  rejected() {
    emit({ event: "rejected" });
  },
  received(data) {
    // A full list on subscribe; afterwards batches of changes since a version.
    if (Array.isArray(data.todos)) emit({ event: "received", version: data.version, titles: data.todos.map((t) => t.title) });
    else emit({ event: "changes", since: data.since, version: data.version, titles: (data.changes ?? []).map((c) => c.todo?.title ?? null) });
  },
});

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() === "quit") {
    consumer.disconnect();
    process.exit(0);
  }
}).on("close", () => {
  consumer.disconnect();
  process.exit(0);
});
