"""Every text the optimizer sends to a model: the critic (loss), the debugger (backward), the
summariser (combining a minibatch's feedback) and the rewriter (the update step)."""

# --- loss: the global gradient ------------------------------------------------------------------

CRITIC_ROLE = "a demanding reviewer of an AI system's answers"
CRITIC_INSTRUCTIONS = (
    "An AI system answered one input of a task and its answer was scored as wrong or incomplete. "
    "In two to four sentences, say what is wrong with the system's answer and what a correct answer "
    "would look like. Mention format problems (extra words, a wrong label, a missing part) as well as "
    "reasoning errors."
)
CRITIC_OUTPUT = "the critique"

# --- backward: local gradients and feedback on a layer's inputs ----------------------------------

DEBUGGER_ROLE = "an engineer who debugs teams of AI agents"
DEBUGGER_INSTRUCTIONS = (
    "The layer below is one step of a larger AI system. Its output received the feedback shown. "
    "Say how each agent of the layer should change its behaviour so that the layer's output would "
    "have been right{upstream_clause}. Give advice that would help on every input of the task; do "
    "not repeat this input's details."
)
DEBUGGER_UPSTREAM_CLAUSE = ", and what the layer's inputs from earlier steps should have contained"
DEBUGGER_AGENT_OUTPUT = "what agent '{agent}' should do differently, in one or two sentences"
DEBUGGER_TEXT_OUTPUT = "how {description} should change, or 'nothing'"
DEBUGGER_UPSTREAM_OUTPUT = "what the inputs from earlier steps should have contained, or 'nothing'"
DEBUGGER_TOOL_OUTPUT = "what the documentation of tool '{tool}' should say so agents call it right, or 'nothing'"
TOOL_CALL_LINE = "{agent} called {tool}({args}) -> {result}"

# --- combining a minibatch's feedback about one text ----------------------------------------------

SUMMARISER_ROLE = "an editor of feedback"
SUMMARISER_INSTRUCTIONS = (
    "Several pieces of feedback about the same text are listed. Merge them into at most five short "
    "bullet points: keep advice that recurs, drop repeats and anything that fits only one example."
)
SUMMARISER_OUTPUT = "the merged feedback as bullet points"

# --- the update step --------------------------------------------------------------------------------

REWRITER_ROLE = "an expert prompt engineer"
REWRITER_INSTRUCTIONS = (
    "Rewrite the current text so that the AI system does better on the whole task. Use the feedback "
    "and keep what already works. State general rules that hold for every input of the task; never "
    "copy names, numbers or sentences of single examples. {kind_rule}"
)
REWRITER_OUTPUT = "the new text, and nothing else"
REWRITER_LR_RULE = "Make a minimal edit: change, add or remove at most {words} words and keep the rest as it is."
KIND_RULES = {
    "role": "The text is a role: a short noun phrase of at most twelve words naming who the agent is.",
    "instructions": "The text is instructions for an AI agent: plain sentences, at most {max_words} words, no code.",
    "text": "Keep it under {max_words} words.",
    "tool_doc": (
        "The text is a tool's documentation: what the tool does, what each argument accepts (codes, units, "
        "formats) and what it returns, in plain sentences of at most {max_words} words."
    ),
}

# --- how the optimizer sees things (filled into the inputs above) ---------------------------------

LAYER_LINE = "layer '{name}' ({aggregator}, {size} agent{plural}): reads {inputs}; writes {outputs}"
AGENT_LINE = "agent '{name}': role: {role}; instructions: {instructions}"
TEAM_TEXT_LINE = "{name}: {value}"
FIELD_LINE = "{name}: {value}"
TRAJECTORY_LINE = "{layer} wrote {outputs} ({decision})"
CANDIDATE_LINE = "{number}. {outputs}"
FEEDBACK_ITEM = "- {text}"
PAST_UPDATE = "tried: {value!r} -> validation {before:.3f} to {after:.3f} ({verdict})"
NO_PAST_UPDATES = "(none yet)"

# --- dynamic decomposition: the planner proposes the layers ------------------------------------

PLANNER_SYSTEM = (
    "You design a team of AI agents for a task. Split the task into one to {max_layers} steps (layers). "
    "Each layer reads fields (the task's inputs or earlier layers' outputs) and writes new fields; the last "
    "layer writes the task's outputs. Give each layer a team of one to {max_agents} agents, each with a role "
    "and instructions, and a team type:\n{team_types}\n"
    "Field and agent names are lowercase words joined by '_'. Reply with a JSON object holding 'layers'."
)
PLANNER_TEAM_TYPE = "- {name}: {summary}"
PLANNER_USER = "Task: {task}\n\nInputs:\n{inputs}\n\nOutputs:\n{outputs}\n\nExamples:\n{examples}"
PLANNER_RETRY = "That plan was invalid: {error}. Reply with a corrected plan."
TEAM_TYPE_SUMMARIES = {
    "single": "one agent answers",
    "vote": "several agents answer and the majority wins",
    "judge": "several agents answer and a judge picks the best",
    "synthesize": "several agents answer and their answers are merged",
    "debate": "several agents answer, see each other's answers and revise, then vote",
    "refine": "several agents answer; on disagreement a reviewer and a refiner fix the answer",
    "best_of_n": "several candidates are graded by a rubric",
    "critique": "one agent answers and revises it against principles",
}

# --- structural learning: the architect proposes one typed edit of the graph ---------------------

ARCHITECT_SYSTEM = (
    "You improve the structure of a team of AI agents. The system below failed on the examples shown. "
    "Propose ONE change of structure that would help on every input of the task: swap a layer's team type "
    "(aggregator), add an agent with a new role to a layer, remove an agent that hurts, insert a layer that "
    "revises a layer's output, or delete a layer that adds nothing. Teams have at most "
    "{max_agents} agents. Team types:\n{team_types}\nReply with a JSON object describing the change."
)
ARCHITECT_USER = "Task: {task}\n\nSystem:\n{system}\n\nTeams:\n{teams}\n\nWhat went wrong:\n{critiques}"

# --- DRAFT: explorer -> analyzer -> rewriter over a tool's documentation --------------------------

EXPLORER_ROLE = "a curious tester of software tools"
EXPLORER_INSTRUCTIONS = (
    "Propose ONE call of the tool that probes behaviour the documentation does not yet explain: odd or "
    "boundary arguments, options never tried, likely mistakes. Do not repeat earlier explorations."
)
EXPLORER_TOO_SIMILAR = "Your last proposal was too similar to an earlier one: {query}. Probe something different."
ANALYZER_ROLE = "a technical writer who checks documentation against real behaviour"
ANALYZER_INSTRUCTIONS = (
    "Compare what the documentation says with what the call actually returned. List what the documentation "
    "gets wrong, leaves out or should warn about."
)
DRAFT_REWRITER_ROLE = "a technical writer"
DRAFT_REWRITER_INSTRUCTIONS = (
    "Rewrite the tool's documentation using the suggestions: say what the tool does, what each argument "
    "accepts, and the surprises a user must know. Keep it under {max_words} words."
)
EXPLORATION_LINE = "- called with {args} -> {result}"
