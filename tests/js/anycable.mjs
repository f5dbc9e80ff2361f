// Drives a trifecta server's /cable with the unmodified @anycable/core client on the extended
// protocol (actioncable-v1-ext-json): session restore, stream offsets and history.
//
// Usage: node anycable.mjs ws://HOST:PORT/cable [ROOM]
//
// Subscribes to ChatChannel {room} and prints one JSON event per line on stdout: cable
// "connect" (with reconnect/restored) and "disconnect"; channel "subscribed" (with
// reconnect/restored), "message" (data and its offset/epoch), "info" (history_received,
// history_not_found), "closed" (the subscription was rejected or ended). The Rust tests
// (tests/api/cable_resume.rs) read them. "quit" on stdin (or end of input) exits.
import readline from "node:readline";
import WebSocket from "ws";
import { createCable } from "@anycable/core";

const url = process.argv[2];
const room = process.argv[3] || "lobby";
if (!url) {
  console.error("usage: node anycable.mjs ws://host:port/cable [room]");
  process.exit(2);
}
const origin = new URL(url.replace(/^ws/, "http")).origin;
const emit = (event) => process.stdout.write(JSON.stringify(event) + "\n");

class NodeWebSocket extends WebSocket {
  constructor(address, protocols) {
    super(address, protocols, { headers: { Origin: origin } });
  }
}

const cable = createCable(url, {
  protocol: "actioncable-v1-ext-json",
  websocketImplementation: NodeWebSocket,
  logLevel: process.env.CABLE_JS_DEBUG ? "debug" : "error",
  // Reconnect quickly once the network is back: the tests cut it for seconds, not minutes.
  reconnectStrategy: () => 250,
});
cable.on("connect", ({ reconnect, restored }) => emit({ event: "connect", reconnect, restored }));
cable.on("disconnect", () => emit({ event: "disconnect" }));

const channel = cable.subscribeTo("ChatChannel", { room });
channel.on("connect", ({ reconnect, restored }) => emit({ event: "subscribed", reconnect, restored }));
channel.on("message", (data, meta) =>
  emit({ event: "message", data, offset: meta?.offset ?? null, epoch: meta?.epoch ?? null, stream: meta?.stream ?? null }),
);
channel.on("info", (info) => emit({ event: "info", type: info.type }));
channel.on("close", (err) => emit({ event: "closed", reason: err?.reason ?? String(err ?? "") }));

const input = readline.createInterface({ input: process.stdin });
const quit = () => {
  cable.disconnect();
  process.exit(0);
};
input.on("line", (line) => {
  if (line.trim() === "quit") quit();
});
input.on("close", quit);
