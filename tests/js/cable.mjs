// Drives a trifecta server's /cable with the unmodified @rails/actioncable client.
//
// Usage: node cable.mjs ws://HOST:PORT/cable
//
// Prints one JSON event per line on stdout (connected, received, rejected, disconnected,
// stats); the Rust test (tests/api/cable_js.rs) reads them and drives the server. A line
// "stats" on stdin prints counters; "quit" (or end of input) disconnects and exits.
import readline from "node:readline";
import WebSocket from "ws";
import * as ActionCable from "@rails/actioncable";

const url = process.argv[2];
if (!url) {
  console.error("usage: node cable.mjs ws://host:port/cable");
  process.exit(2);
}
const origin = new URL(url.replace(/^ws/, "http")).origin;

// The browser globals the client touches (docs/protocols.md §5).
const listeners = new Map();
globalThis.addEventListener ??= (type, fn) => listeners.set(type, fn);
globalThis.removeEventListener ??= (type) => listeners.delete(type);
globalThis.document ??= {
  visibilityState: "visible",
  addEventListener() {},
  removeEventListener() {},
};

const sent = [];
class NodeWebSocket extends WebSocket {
  constructor(address, protocols) {
    super(address, protocols, { headers: { Origin: origin } });
  }
  send(data) {
    sent.push(JSON.parse(data));
    super.send(data);
  }
}
ActionCable.adapters.WebSocket = NodeWebSocket;
ActionCable.adapters.logger = { log: (...args) => console.error("[actioncable]", ...args) };
ActionCable.logger.enabled = Boolean(process.env.CABLE_JS_DEBUG);

const emit = (event) => process.stdout.write(JSON.stringify(event) + "\n");

const consumer = ActionCable.createConsumer(url);
const chatParams = { channel: "ChatChannel", room: "lobby" };
consumer.subscriptions.create(chatParams, {
  connected(details) {
    emit({ event: "connected", channel: "ChatChannel", reconnected: Boolean(details?.reconnected) });
  },
  disconnected(details) {
    emit({ event: "disconnected", channel: "ChatChannel", willAttemptReconnect: Boolean(details?.willAttemptReconnect) });
  },
  received(data) {
    emit({ event: "received", channel: "ChatChannel", data });
  },
});
consumer.subscriptions.create("NoSuchChannel", {
  connected() {
    emit({ event: "connected", channel: "NoSuchChannel" });
  },
  rejected() {
    emit({ event: "rejected", channel: "NoSuchChannel" });
  },
});

const countSubscribes = (channel) =>
  sent.filter((c) => c.command === "subscribe" && JSON.parse(c.identifier).channel === channel).length;

const input = readline.createInterface({ input: process.stdin });
const quit = () => {
  consumer.disconnect();
  process.exit(0);
};
input.on("line", (line) => {
  if (line.trim() === "stats") {
    emit({
      event: "stats",
      subscribes: { ChatChannel: countSubscribes("ChatChannel"), NoSuchChannel: countSubscribes("NoSuchChannel") },
    });
  } else if (line.trim() === "quit") {
    quit();
  }
});
input.on("close", quit);
