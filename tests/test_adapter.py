"""Golden tests: the exact messages an agent sends, and strict reply parsing."""

import pytest

from ann import Agent
from ann.adapter import AnnAdapter, output_schema, parse_json_object, parse_reply
from ann.errors import ParseError

ADAPTER = AnnAdapter()


def test_single_input_single_output_is_a_plain_chat_prompt():
    agent = Agent("coder", role="an expert Python programmer", instructions="Complete the function.")
    signature = agent.signature(["prompt"], ["completion"], {"completion": "the whole function in a code block"})
    messages = ADAPTER.format(signature, [], {"prompt": "def f(x):\n    '''Double x.'''\n"})
    assert messages == [
        {
            "role": "system",
            "content": "You are an expert Python programmer.\n\nComplete the function.\n\n"
            "Reply with the completion (the whole function in a code block).",
        },
        {"role": "user", "content": "def f(x):\n    '''Double x.'''\n"},
    ]
    assert output_schema(signature) is None


def test_several_fields_are_labelled_and_reply_is_json():
    agent = Agent("x", instructions="Extract them.")
    signature = agent.signature(["text", "hint"], ["city", "country"], {"city": "the city name"})
    messages = ADAPTER.format(
        signature, [{"text": "t0", "hint": "h0", "city": "c0", "country": "k0"}], {"text": "T", "hint": "H"}
    )
    assert messages[0]["content"] == (
        'Extract them.\n\nReply with a JSON object with these keys:\n- "city": the city name\n- "country": Country'
    )
    assert messages[1] == {"role": "user", "content": "Text:\nt0\n\nHint:\nh0"}
    assert messages[2] == {"role": "assistant", "content": '{"city": "c0", "country": "k0"}'}
    assert messages[3] == {"role": "user", "content": "Text:\nT\n\nHint:\nH"}
    assert output_schema(signature)["required"] == ["city", "country"]


def test_parse_reply():
    assert parse_reply(["a"], "  hello \n") == {"a": "hello"}
    assert parse_reply(["a", "b"], '```json\n{"a": "1", "b": 2}\n```') == {"a": "1", "b": "2"}
    assert parse_reply(["a", "b"], 'Sure: {"a": "x", "b": "y"} done') == {"a": "x", "b": "y"}
    with pytest.raises(ParseError, match="empty reply"):
        parse_reply(["a"], "   ")
    with pytest.raises(ParseError, match="lacks keys \\['b'\\]") as info:
        parse_reply(["a", "b"], '{"a": "1"}')
    assert info.value.raw == '{"a": "1"}'
    with pytest.raises(ParseError, match="expected a JSON object"):
        parse_reply(["a", "b"], "no json here")


def test_empty_role_and_instructions_give_only_the_reply_format():
    signature = Agent("bare").signature(["q"], ["answer"])
    assert ADAPTER.format(signature, [], {"q": "2+2"})[0]["content"] == "Reply with the answer."


def test_choices_constrain_the_schema_force_json_and_are_checked():
    signature = Agent("router").signature(["ticket"], ["category"], {}, {"category": ["billing", "shipping"]})
    schema = output_schema(signature)
    assert schema["properties"]["category"] == {"type": "string", "enum": ["billing", "shipping"]}
    system = ADAPTER.format(signature, [], {"ticket": "t"})[0]["content"]
    assert system.endswith('- "category": Category (one of: billing, shipping)')
    assert ADAPTER.parse(signature, '{"category": " Billing "}') == {"category": "billing"}
    with pytest.raises(ParseError, match="'category' must be one of"):
        ADAPTER.parse(signature, '{"category": "refunds"}')


def test_json_reply_wraps_a_single_field():
    adapter = AnnAdapter(json_reply=True)
    signature = Agent("rewriter").signature(["current"], ["new_text"])
    assert output_schema(signature, json_reply=True)["required"] == ["new_text"]
    assert adapter.parse(signature, '{"new_text": "Be brief."}') == {"new_text": "Be brief."}
    with pytest.raises(ParseError):
        adapter.parse(signature, "Sure! Here it is: Be brief.")


def test_a_raw_newline_inside_a_json_string_still_parses():
    # llama.cpp's schema grammar allows control characters in strings; the reply is still an answer
    assert parse_json_object('{"customer": "Mike", "order": "60494\n"}', expected="") == {
        "customer": "Mike",
        "order": "60494\n",
    }
