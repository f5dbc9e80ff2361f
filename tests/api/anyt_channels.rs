//! Native channels and connect handlers that behave like anyt's dummy app
//! (lib/anyt/tests/**, lib/anyt/dummy), and a TestApp with them registered.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use trifecta::actioncable::{
    Channel, Connect, ConnectRequest, Context, Identity, Registry, Rejected,
};
use trifecta::server::Extras;

use crate::helpers::TestApp;

/// anyt's connect handlers, chosen by `?test=<tag>`; `connection.uid` from `?uid=`.
pub struct AnytConnect;

#[async_trait]
impl Connect for AnytConnect {
    async fn connect(&self, req: &ConnectRequest) -> Result<Identity, Rejected> {
        let ok = match req.param("test") {
            Some("request_url") => {
                req.uri.to_string().contains("test=request_url") && req.header("host").is_some()
            }
            Some("cookies") => req.cookie("username") == Some("john green"),
            Some("headers") => req.header("x-api-token") == Some("abc"),
            Some("reasons") => req.param("reason") != Some("unauthorized"),
            Some("uid") => req.param("uid").is_some_and(|u| !u.is_empty()),
            _ => true,
        };
        if !ok {
            return Err(Rejected);
        }
        Ok(match req.param("uid") {
            Some(uid) => Identity::id(uid),
            None => Identity::default(),
        })
    }
}

/// `stream_from` each stream; actions `unfollow` (stop_stream_from name), `tick`
/// (transmit "tock"), `echo` (transmit {response: text}) and `speak` (broadcast).
pub struct Streams(pub &'static [&'static str]);

#[async_trait]
impl Channel for Streams {
    async fn subscribed(&mut self, ctx: &mut Context<'_>) {
        for s in self.0 {
            ctx.stream_from(*s);
        }
    }

    async fn perform(&mut self, action: &str, data: &Value, ctx: &mut Context<'_>) -> bool {
        match action {
            "unfollow" => {
                let name = data["name"].as_str().unwrap_or_default().to_owned();
                ctx.stop_stream_from(name);
            }
            "tick" => ctx.transmit(&json!("tock")),
            "echo" => ctx.transmit(&json!({"response": data["text"]})),
            "speak" => {
                let msg = json!({"text": data["msg"]});
                ctx.cable()
                    .broadcast(self.0[0], &msg)
                    .await
                    .expect("broadcast");
            }
            _ => return false,
        }
        true
    }
}

/// `subscribed { reject }`.
pub struct Rejector;

#[async_trait]
impl Channel for Rejector {
    async fn subscribed(&mut self, ctx: &mut Context<'_>) {
        ctx.reject();
    }
}

/// Transmits "hello" then "world" from `subscribed`.
pub struct Transmissions;

#[async_trait]
impl Channel for Transmissions {
    async fn subscribed(&mut self, ctx: &mut Context<'_>) {
        ctx.transmit(&json!("hello"));
        ctx.transmit(&json!("world"));
    }
}

/// Rejects unless the connection's `?token=secret`.
pub struct RequestChannel;

#[async_trait]
impl Channel for RequestChannel {
    async fn subscribed(&mut self, ctx: &mut Context<'_>) {
        if ctx.connection().request.param("token") != Some("secret") {
            ctx.reject();
        }
    }
}

/// Streams from `stream`; on unsubscribe broadcasts `{data: "user left<id>"}` to it.
pub struct Leaver(pub &'static str);

#[async_trait]
impl Channel for Leaver {
    async fn subscribed(&mut self, ctx: &mut Context<'_>) {
        ctx.stream_from(self.0);
    }

    async fn unsubscribed(&mut self, ctx: &mut Context<'_>) {
        // Ruby interpolates a missing param as "".
        let id = match ctx.param("id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        };
        let msg = json!({"data": format!("user left{id}")});
        ctx.cable()
            .broadcast(self.0, &msg)
            .await
            .expect("broadcast");
    }
}

/// features/channel_state_test.rb: per-subscription `user` and `count`.
#[derive(Default)]
pub struct ChannelState {
    name: String,
    count: i64,
}

#[async_trait]
impl Channel for ChannelState {
    async fn subscribed(&mut self, ctx: &mut Context<'_>) {
        self.name = ctx
            .param("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        self.count = 1;
        ctx.stream_from("state_counts");
    }

    async fn perform(&mut self, action: &str, _data: &Value, ctx: &mut Context<'_>) -> bool {
        if action != "tick" {
            return false;
        }
        self.count += 2;
        ctx.transmit(&json!({"count": self.count, "name": self.name}));
        true
    }

    async fn unsubscribed(&mut self, ctx: &mut Context<'_>) {
        if ctx
            .param("notify_disconnect")
            .is_some_and(|v| v != &Value::Null && v != &json!(false))
        {
            let msg = json!({"data": format!("user left: {}", self.name)});
            ctx.cable()
                .broadcast("state_counts", &msg)
                .await
                .expect("broadcast");
        }
    }
}

/// Full anyt class name.
pub fn name(short: &str) -> String {
    format!("Anyt::TestChannels::{short}")
}

/// Registers every anyt channel.
pub fn register(r: &mut Registry) {
    r.register(name("RequestChannel"), || RequestChannel);
    r.register(name("RequestAChannel"), || Leaver("request_a"));
    r.register(name("RequestBChannel"), || Leaver("request_b"));
    r.register(name("RequestCChannel"), || Leaver("request_c"));
    r.register(name("ChannelStateChannel"), ChannelState::default);
    r.register(name("BroadcastDataToStreamChannel"), || Streams(&["a"]));
    r.register(name("SingleStreamChannel"), || Streams(&["a"]));
    r.register(name("MultipleStreamsChannel"), || Streams(&["a", "b"]));
    r.register(name("StreamsWithManyClientsChannel"), || Streams(&["a"]));
    r.register(name("StopStreamsChannel"), || Streams(&["a", "b"]));
    r.register(name("SubscriptionAknowledgementChannel"), || Streams(&[]));
    r.register(name("SubscriptionAknowledgementRejectorChannel"), || {
        Rejector
    });
    r.register(name("SubscriptionWithParamsChannel"), || Streams(&[]));
    r.register(name("SubscriptionPerformMethodsChannel"), || Streams(&[]));
    r.register(name("SubscriptionTransmissionsChannel"), || Transmissions);
}

/// The real server (TestApp) with anyt's channels and connect handlers.
pub async fn anyt_app() -> TestApp {
    anyt_app_with(|_| {}).await
}

/// [`anyt_app`] after `tune` adjusts the config.
pub async fn anyt_app_with(tune: impl FnOnce(&mut trifecta::server::Config)) -> TestApp {
    TestApp::spawn_extended(tune, anyt_extras()).await
}

/// anyt's channels and connect hook, to start a server with.
pub fn anyt_extras() -> Extras {
    let mut extras = Extras {
        connect: Some(Arc::new(AnytConnect)),
        ..Extras::default()
    };
    register(&mut extras.channels);
    extras
}
