//! What a valid dispatch body is.
//!
//! This file checks a `POST /calls/dispatch` body the way the real API
//! would: a JSON object with an integer `agent_id`, an E.164 `to_number`,
//! an optional integer `from_number_id` and an optional `call_context`
//! object. Each refusal names the field, as the 400 the dialer logs should.
//! What happens to a valid body is `dispatch.rs`'s business.

use serde_json::{Map, Value};

/// A dispatch body that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DispatchBody {
    /// The agent to place the call with.
    pub agent_id: i64,
    /// The number to call, in E.164.
    pub to_number: String,
    /// The caller number's id, if given.
    pub from_number_id: Option<i64>,
    /// Values for the agent, if given.
    pub call_context: Option<Map<String, Value>>,
}

/// Parses and validates a dispatch body, or says which field is wrong.
pub(crate) fn parse(body: &[u8]) -> Result<DispatchBody, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| format!("request body is not valid JSON: {err}"))?;
    let Value::Object(mut object) = value else {
        return Err("request body must be a JSON object".to_string());
    };

    let agent_id = match object.get("agent_id") {
        None | Some(Value::Null) => return Err("agent_id is required".to_string()),
        Some(value) => value.as_i64().ok_or("agent_id must be an integer")?,
    };
    let to_number = match object.remove("to_number") {
        None | Some(Value::Null) => return Err("to_number is required".to_string()),
        Some(Value::String(number)) if is_e164(&number) => number,
        Some(Value::String(number)) => {
            return Err(format!(
                "to_number {number:?} is not in E.164 form (a + and 8 to 15 digits, \
                 the first not 0)"
            ));
        }
        Some(_) => return Err("to_number must be a string".to_string()),
    };
    let from_number_id = match object.get("from_number_id") {
        None | Some(Value::Null) => None,
        Some(value) => Some(value.as_i64().ok_or("from_number_id must be an integer")?),
    };
    let call_context = match object.remove("call_context") {
        None | Some(Value::Null) => None,
        Some(Value::Object(context)) => Some(context),
        Some(_) => return Err("call_context must be a JSON object".to_string()),
    };
    Ok(DispatchBody {
        agent_id,
        to_number,
        from_number_id,
        call_context,
    })
}

/// Returns true for `+` then 8 to 15 ASCII digits, the first not 0.
pub(crate) fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Pulls `to_number` out of a body that was refused, for the record.
pub(crate) fn peek_to_number(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("to_number")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full body parses into its fields.
    #[test]
    fn parses_a_full_body() {
        let body = br#"{"agent_id": 42, "to_number": "+15551234567", "from_number_id": 23,
            "call_context": {"user_name": "Jane Doe", "n": 3}}"#;
        let parsed = parse(body).unwrap();
        assert_eq!(parsed.agent_id, 42);
        assert_eq!(parsed.to_number, "+15551234567");
        assert_eq!(parsed.from_number_id, Some(23));
        assert_eq!(parsed.call_context.unwrap().len(), 2);
    }

    /// Optional fields may be absent or null.
    #[test]
    fn optional_fields_may_be_missing() {
        let parsed =
            parse(br#"{"agent_id": 1, "to_number": "+4930123456", "call_context": null}"#).unwrap();
        assert_eq!(parsed.from_number_id, None);
        assert_eq!(parsed.call_context, None);
    }

    /// Each bad body is refused with a message naming the field.
    #[test]
    fn bad_bodies_name_the_field() {
        let cases: [(&[u8], &str); 11] = [
            (b"not json", "not valid JSON"),
            (b"[1, 2]", "JSON object"),
            (br#"{"to_number": "+15551234567"}"#, "agent_id is required"),
            (
                br#"{"agent_id": "42", "to_number": "+15551234567"}"#,
                "agent_id must be",
            ),
            (
                br#"{"agent_id": 4.2, "to_number": "+15551234567"}"#,
                "agent_id must be",
            ),
            (br#"{"agent_id": 42}"#, "to_number is required"),
            (
                br#"{"agent_id": 42, "to_number": 15551234567}"#,
                "to_number must be a string",
            ),
            (
                br#"{"agent_id": 42, "to_number": "15551234567"}"#,
                "to_number \"15551234567\"",
            ),
            (
                br#"{"agent_id": 42, "to_number": "+1555", "x": 1}"#,
                "E.164",
            ),
            (
                br#"{"agent_id": 42, "to_number": "+15551234567", "from_number_id": "a"}"#,
                "from_number_id",
            ),
            (
                br#"{"agent_id": 42, "to_number": "+15551234567", "call_context": []}"#,
                "call_context",
            ),
        ];
        for (body, needle) in cases {
            let err = parse(body).unwrap_err();
            assert!(
                err.contains(needle),
                "{}: {err}",
                String::from_utf8_lossy(body)
            );
        }
    }

    /// Pins the E.164 rule: a plus, 8 to 15 digits, no leading zero.
    #[test]
    fn e164_rule() {
        assert!(is_e164("+12015550311"));
        assert!(is_e164("+12345678"));
        assert!(is_e164("+123456789012345"));
        assert!(!is_e164("+1234567"));
        assert!(!is_e164("+1234567890123456"));
        assert!(!is_e164("+01234567890"));
        assert!(!is_e164("12015550311"));
        assert!(!is_e164("+1 201 555 0311"));
        assert!(!is_e164("+１２０１５５５０３１１"));
    }
}
