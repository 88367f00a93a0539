//! OpenTelemetry traces, opt-in (`OTEL_EXPORTER_OTLP_ENDPOINT`): a tracing
//! layer that turns the service's spans into OTLP spans and a thread that
//! POSTs them, in batches, to the collector as OTLP/HTTP JSON
//! (`{endpoint}/v1/traces`). A request continues the caller's W3C
//! `traceparent`; the spans inside it (database work) are its children.
//! Spans carry only what their fields hold — route, method, status, request
//! id, batch sizes — never amounts, tokens or organisation names. A collector
//! that is down or slow costs spans, never requests: the queue is bounded and
//! a full one drops.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// Spans waiting for the exporter; past this, new ones are dropped.
const QUEUE: usize = 4096;
/// Spans per POST, and the longest a finished span waits to be sent.
const BATCH: usize = 256;
const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// One span of ours, from its start to its end.
struct SpanData {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent: Option<[u8; 8]>,
    name: &'static str,
    server: bool,
    start: u128,
    attributes: Vec<(String, Value)>,
}

/// The layer; spans are exported by the thread [`layer`] starts.
pub struct OtlpLayer {
    tx: SyncSender<Value>,
}

/// A layer exporting to `endpoint` (`http://host:port`) as `service`.
pub fn layer(endpoint: &str, service: &str) -> OtlpLayer {
    let (tx, rx) = sync_channel(QUEUE);
    let (endpoint, service) = (endpoint.to_owned(), service.to_owned());
    std::thread::Builder::new()
        .name("otlp-export".into())
        .spawn(move || export(rx, &endpoint, &service))
        .expect("spawn the OTLP exporter");
    OtlpLayer { tx }
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `00-<trace id>-<parent id>-<flags>` (W3C Trace Context), when well formed.
fn parse_traceparent(v: &str) -> Option<([u8; 16], [u8; 8])> {
    let parts: Vec<&str> = v.trim().split('-').collect();
    let [version, trace, parent, _flags] = parts.as_slice() else {
        return None;
    };
    if *version != "00" || trace.len() != 32 || parent.len() != 16 {
        return None;
    }
    let decode = |s: &str, out: &mut [u8]| -> Option<()> {
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(())
    };
    let (mut t, mut p) = ([0u8; 16], [0u8; 8]);
    decode(trace, &mut t)?;
    decode(parent, &mut p)?;
    (t != [0; 16] && p != [0; 8]).then_some((t, p))
}

/// Collects a span's fields as attributes; `traceparent` is kept apart.
#[derive(Default)]
struct Fields {
    attributes: Vec<(String, Value)>,
    traceparent: Option<String>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "traceparent" {
            self.traceparent = Some(value.to_owned());
        } else {
            self.attributes
                .push((attribute_name(field.name()), json!({ "stringValue": value })));
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.attributes
            .push((attribute_name(field.name()), json!({ "intValue": value.to_string() })));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.attributes
            .push((attribute_name(field.name()), json!({ "intValue": value.to_string() })));
    }
}

/// Our field names as OpenTelemetry's semantic conventions spell them.
fn attribute_name(field: &str) -> String {
    match field {
        "method" => "http.request.method",
        "route" => "http.route",
        "status" => "http.response.status_code",
        "request_id" => "pilotledger.request_id",
        other => other,
    }
    .to_owned()
}

impl<S> Layer<S> for OtlpLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let from_parent = span
            .parent()
            .and_then(|p| p.extensions().get::<SpanData>().map(|d| (d.trace_id, d.span_id)));
        let (trace_id, parent) = match (from_parent, fields.traceparent.as_deref().and_then(parse_traceparent)) {
            (Some((t, p)), _) => (t, Some(p)),
            (None, Some((t, p))) => (t, Some(p)),
            (None, None) => (rand::random::<[u8; 16]>(), None),
        };
        let data = SpanData {
            trace_id,
            span_id: rand::random::<[u8; 8]>(),
            parent,
            name: attrs.metadata().name(),
            server: attrs.metadata().name() == "request",
            start: now_nanos(),
            attributes: fields.attributes,
        };
        span.extensions_mut().insert(data);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        values.record(&mut fields);
        let mut extensions = span.extensions_mut();
        if let Some(data) = extensions.get_mut::<SpanData>() {
            data.attributes.extend(fields.attributes);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(d) = span.extensions_mut().remove::<SpanData>() else {
            return;
        };
        let status = d
            .attributes
            .iter()
            .find(|(k, _)| k == "http.response.status_code")
            .and_then(|(_, v)| v["intValue"].as_str()?.parse::<u16>().ok());
        let mut s = json!({
            "traceId": hex(&d.trace_id),
            "spanId": hex(&d.span_id),
            "name": d.name,
            "kind": if d.server { 2 } else { 1 },
            "startTimeUnixNano": d.start.to_string(),
            "endTimeUnixNano": now_nanos().to_string(),
            "attributes": d.attributes.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
            // Error for a 5xx; unset otherwise (a 4xx is the client's).
            "status": { "code": if status.is_some_and(|c| c >= 500) { 2 } else { 0 } },
        });
        if let Some(p) = d.parent {
            s["parentSpanId"] = json!(hex(&p));
        }
        let _ = self.tx.try_send(s);
    }
}

/// Batches spans and POSTs them until the layer is dropped.
fn export(rx: Receiver<Value>, endpoint: &str, service: &str) {
    let mut batch = Vec::new();
    loop {
        let closed = match rx.recv_timeout(FLUSH_EVERY) {
            Ok(span) => {
                batch.push(span);
                if batch.len() < BATCH {
                    continue;
                }
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        if !batch.is_empty() {
            let body = json!({"resourceSpans": [{
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                "scopeSpans": [{"scope": {"name": "pilotledger"}, "spans": std::mem::take(&mut batch)}],
            }]});
            // A failed POST costs its spans, nothing else.
            let _ = post(endpoint, &body.to_string());
        }
        if closed {
            return;
        }
    }
}

/// One HTTP/1.1 POST of `body` to `{endpoint}/v1/traces`.
fn post(endpoint: &str, body: &str) -> std::io::Result<()> {
    let rest = endpoint.trim_start_matches("http://");
    let (host, base) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
    let path = format!(
        "/{}{}v1/traces",
        base,
        if base.is_empty() || base.ends_with('/') {
            ""
        } else {
            "/"
        }
    );
    let addr = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:80")
    };
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_read_as_w3c_writes_it() {
        let (t, p) = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(hex(&t), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(hex(&p), "00f067aa0ba902b7");
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad}");
        }
    }
}
