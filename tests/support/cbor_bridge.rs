//! Smithy RPC v2 CBOR in front of moto.
//!
//! The current `aws-sdk-cloudwatch` speaks only Smithy RPC v2 CBOR (the
//! protocol CloudWatch adopted in 2025); moto 5.1 serves CloudWatch over
//! the Query and JSON 1.0 protocols but not CBOR. The fault proxy carries
//! such a request to moto as the same operation over JSON 1.0 (same
//! operation, same members, same credentials) and carries moto's answer
//! back as CBOR, so the real SDK client and moto's real CloudWatch meet.
//! Only the wire encoding is translated: CBOR maps, arrays, strings and
//! numbers are JSON's; timestamps (members named `*Timestamp`, the only
//! ones CloudWatch's alarm shapes have) get CBOR's epoch-seconds tag.

use minicbor::data::{IanaTag, Type};
use minicbor::{Decoder, Encoder};
use serde_json::{Map, Number, Value};

/// Whether a request is Smithy RPC v2 CBOR (`smithy-protocol: rpc-v2-cbor`).
pub fn is_cbor(head: &str) -> bool {
    super::fault_proxy::header(head, "smithy-protocol") == Some("rpc-v2-cbor")
}

/// `POST /service/<Service>/operation/<Operation>` with a CBOR body, as the
/// same call over JSON 1.0: the new head and body.
pub fn to_json_request(head: &str, body: &[u8]) -> Option<(String, Vec<u8>)> {
    let target = head.lines().next()?.split(' ').nth(1)?;
    let mut parts = target.trim_start_matches('/').split('/');
    let (Some("service"), Some(service), Some("operation"), Some(operation)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let input = if body.is_empty() {
        Value::Object(Map::new())
    } else {
        decode(&mut Decoder::new(body)).ok()?
    };
    let json = serde_json::to_vec(&input).ok()?;
    let mut lines = vec!["POST / HTTP/1.1".to_string()];
    for line in head.lines().skip(1).filter(|l| !l.is_empty()) {
        let name = line
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if !matches!(
            name.as_str(),
            "content-length" | "content-type" | "accept" | "smithy-protocol" | "connection"
        ) {
            lines.push(line.to_string());
        }
    }
    lines.push("Content-Type: application/x-amz-json-1.0".to_string());
    lines.push(format!("X-Amz-Target: {service}.{operation}"));
    lines.push(format!("Content-Length: {}", json.len()));
    Some((lines.join("\r\n") + "\r\n", json))
}

/// moto's JSON answer (status line, headers, body) as a CBOR answer.
pub fn to_cbor_response(response: &[u8]) -> Option<Vec<u8>> {
    let end = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&response[..end]).to_string();
    let status = head.lines().next()?;
    let body = &response[end + 4..];
    let mut cbor = Vec::new();
    if !body.is_empty() {
        let value: Value = serde_json::from_slice(body).ok()?;
        let mut encoder = Encoder::new(&mut cbor);
        encode(&value, None, &mut encoder).ok()?;
    }
    let request_id = super::fault_proxy::header(&head, "x-amzn-requestid")
        .map(|id| format!("x-amzn-RequestId: {id}\r\n"))
        .unwrap_or_default();
    let mut out = format!(
        "{status}\r\nContent-Type: application/cbor\r\nsmithy-protocol: rpc-v2-cbor\r\n{request_id}Content-Length: {}\r\nConnection: close\r\n\r\n",
        cbor.len()
    )
    .into_bytes();
    out.extend_from_slice(&cbor);
    Some(out)
}

/// A CBOR error body with the `__type` the SDK reads the code from.
pub fn error_body(code: &str, message: &str) -> Vec<u8> {
    let mut body = Vec::new();
    let error = serde_json::json!({ "__type": code, "message": message });
    let _ = encode(&error, None, &mut Encoder::new(&mut body));
    body
}

fn decode(d: &mut Decoder) -> Result<Value, minicbor::decode::Error> {
    Ok(match d.datatype()? {
        Type::Map | Type::MapIndef => {
            let len = d.map()?;
            let mut map = Map::new();
            let mut read = 0;
            while len.is_none_or(|n| read < n) {
                if len.is_none() && d.datatype()? == Type::Break {
                    d.skip()?;
                    break;
                }
                let key = string(d)?;
                map.insert(key, decode(d)?);
                read += 1;
            }
            Value::Object(map)
        }
        Type::Array | Type::ArrayIndef => {
            let len = d.array()?;
            let mut items = Vec::new();
            while len.is_none_or(|n| (items.len() as u64) < n) {
                if len.is_none() && d.datatype()? == Type::Break {
                    d.skip()?;
                    break;
                }
                items.push(decode(d)?);
            }
            Value::Array(items)
        }
        Type::String | Type::StringIndef => Value::String(string(d)?),
        Type::Bool => Value::Bool(d.bool()?),
        Type::Null | Type::Undefined => {
            d.skip()?;
            Value::Null
        }
        Type::F16 | Type::F32 | Type::F64 => {
            Number::from_f64(d.f64()?).map_or(Value::Null, Value::Number)
        }
        Type::Tag => {
            d.tag()?;
            decode(d)?
        }
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => Value::from(d.u64()?),
        _ => Value::from(d.i64()?),
    })
}

fn string(d: &mut Decoder) -> Result<String, minicbor::decode::Error> {
    let mut out = String::new();
    for part in d.str_iter()? {
        out.push_str(part?);
    }
    Ok(out)
}

fn encode(
    value: &Value,
    key: Option<&str>,
    e: &mut Encoder<&mut Vec<u8>>,
) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
    match value {
        Value::Null => {
            e.null()?;
        }
        Value::Bool(b) => {
            e.bool(*b)?;
        }
        Value::Number(n) if key.is_some_and(|k| k.ends_with("Timestamp")) => {
            e.tag(IanaTag::Timestamp)?
                .f64(n.as_f64().unwrap_or_default())?;
        }
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => {
                e.u64(u)?;
            }
            (None, Some(i)) => {
                e.i64(i)?;
            }
            _ => {
                e.f64(n.as_f64().unwrap_or_default())?;
            }
        },
        Value::String(s) => {
            e.str(s)?;
        }
        Value::Array(items) => {
            e.array(items.len() as u64)?;
            for item in items {
                encode(item, key, e)?;
            }
        }
        Value::Object(map) => {
            e.map(map.len() as u64)?;
            for (k, v) in map {
                e.str(k)?;
                encode(v, Some(k), e)?;
            }
        }
    }
    Ok(())
}
