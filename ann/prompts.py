"""How an agent's call is framed: the system and user messages an agent sends.

Small local models follow a plain chat prompt far better than a templated one (measured on
Qwen2.5-Coder-0.5B: DSPy's default Predict framing 15 % on HumanEval, a plain chat prompt 50 %),
so an agent with one output field is asked in plain words and answers in plain text; only
several output fields call for JSON, which the backend constrains with a schema.
"""

# The system message: the agent's task text (role + instructions) and the reply format.
AGENT_SYSTEM = "{instructions}{reply_format}"

# An agent's task text when it has a role; the role is a noun phrase ("a careful solver").
AGENT_ROLE = "You are {role}."

# Reply format for one output field: plain text, optionally described.
REPLY_TEXT = "\n\nReply with the {output}{description}."

# Reply format for several output fields: one JSON object.
REPLY_JSON = "\n\nReply with a JSON object with these keys:\n{keys}"

# One key line inside REPLY_JSON.
REPLY_JSON_KEY = '- "{name}": {description}{kind}'

# Appended to a key line when the field takes one of a fixed set of values.
REPLY_CHOICES = " (one of: {values})"

# Appended to a key line when the field has a declared type; the grammar enforces it where it can.
REPLY_TYPE = " ({kind})"

# How REPLY_TYPE names each JSON Schema type (a list names its items' type, a text its pattern).
TYPE_NAMES = {
    "string": "text",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "date": "a date as YYYY-MM-DD",
    "array": "a JSON list, each item {items}",
    "pattern": "text matching {pattern}",
}

# One labelled input field in the user message, used when a call has several inputs.
INPUT_FIELD = "{label}:\n{value}"

# An agent with tools: the tools it may call and how to call them, appended to its system message.
TOOLS_SECTION = (
    "\n\nYou can use these tools:\n{tools}\n\nAt each turn reply with a JSON object: "
    '{{"action": "<tool name>", "arguments": {{...}}}} to call a tool, or '
    '{{"action": "final_answer", {fields}}} when you know the answer.'
)
TOOL_LINE = "- {description}"
TOOL_FIELD = '"{name}": "..."'

# What the agent sees after a tool call.
OBSERVATION = "Observation from {tool}: {result}"
# The last turn of a tool loop, which may only answer.
ANSWER_NOW = (
    'Now give your final answer from what the tools returned: reply with {{"action": "final_answer", {fields}}}.'
)
# Added when a model repeats a call that already failed: small models otherwise loop on it.
REPEATED_FAILURE = (
    "\n\nYou made this exact call before and it failed the same way. Read the error, then change the arguments."
)
