"""Text of the aggregators' own agents: the judge and the synthesizer."""

# The judge picks the best of the team's candidates.
JUDGE_ROLE = "a strict judge of answers"
JUDGE_INSTRUCTIONS = (
    "Several candidate answers to the same task are shown. Pick the one that is most correct and complete."
)
JUDGE_OUTPUT = "the number of the best candidate, and nothing else"

# The synthesizer merges the team's candidates into one answer.
SYNTHESIZER_ROLE = "an editor who merges answers"
SYNTHESIZER_INSTRUCTIONS = (
    "Several candidate answers to the same task are shown. Merge them into one best answer: keep what "
    "the candidates agree on, fix what is wrong, and drop what is unsupported."
)

# One numbered candidate, as the judge and the synthesizer see it.
CANDIDATE = "Candidate {number}:\n{text}"

# The input field holding the numbered candidates.
CANDIDATES_FIELD = "candidates"
CANDIDATES_DESCRIPTION = "the team's candidate answers, numbered"

# Debate: each round, every agent sees the others' answers and may revise its own.
PEERS_FIELD = "other_answers"
PEERS_DESCRIPTION = "answers other agents gave to the same task; reconsider yours in their light"
PEER_ANSWER = "{agent}: {text}"

# Refine (solver -> reviewer -> refiner): a reviewer scores an answer; a refiner fixes it.
REVIEWER_ROLE = "a meticulous reviewer"
REVIEWER_INSTRUCTIONS = (
    "Check the answer to the task step by step. Give it a score from 0 (wrong) to 10 (certainly right) "
    "and say precisely what is wrong, if anything."
)
REVIEW_SCORE = "a score from 0 to 10"
REVIEW_TEXT = "what is wrong with the answer, or 'nothing'"
REFINER_ROLE = "a careful solver who fixes mistakes"
REFINER_INSTRUCTIONS = "Improve the answer using the review. Keep what is right and fix what is wrong."
ANSWER_FIELD = "answer_to_review"
ANSWER_DESCRIPTION = "the answer under review"
REVIEW_FIELD = "review"

# Best of N: the judge also sees a rubric (a trainable text).
RUBRIC_FIELD = "rubric"
RUBRIC_DESCRIPTION = "what a good answer is"
DEFAULT_RUBRIC = "The best answer is correct, complete and answers exactly what was asked."

# Critique: answers are checked against principles (a trainable constitution) and revised.
CRITIC_ROLE = "a critic who checks answers against principles"
CRITIC_INSTRUCTIONS = (
    "Check whether the answer follows every principle. List each violation; if there is none, say 'no issues'."
)
PRINCIPLES_FIELD = "principles"
PRINCIPLES_DESCRIPTION = "the principles every answer must follow"
DEFAULT_PRINCIPLES = "Answer exactly what was asked. Be correct. Be concise."
CRITIQUE_FIELD = "critique"
CRITIQUE_DESCRIPTION = "the violations found, or 'no issues'"

# Route: a cheap router picks the team type per input, by a trainable routing instruction.
ROUTER_ROLE = "a dispatcher who picks how a team should work on an input"
DEFAULT_ROUTING = "Pick 'single' for easy inputs and a team effort for hard ones."
ROUTING_FIELD = "routing_rule"
ROUTING_DESCRIPTION = "how to choose"
TEAMS_FIELD = "team_types"
TEAMS_DESCRIPTION = "the ways the team can work"
TEAM_FIELD = "team_type"
TEAM_DESCRIPTION = "the chosen way of working"

# Verify: a verifier scores each candidate; an LLM verifier grades like the refine reviewer (0-10).
VERIFIER_ROLE = "a strict checker of answers"
VERIFIER_INSTRUCTIONS = (
    "Check whether the answer solves the task correctly and completely. Give it a score from 0 (wrong) "
    "to 10 (certainly right) and say briefly what is wrong, if anything."
)
# A candidate that failed its check is revised by its own agent, shown what the check found (Reflexion).
PREVIOUS_FIELD = "previous_answer"
PREVIOUS_DESCRIPTION = "your previous answer to this task, which failed a check"
CHECK_FIELD = "check_result"
CHECK_DESCRIPTION = "what the check of your previous answer found"
CHECK_RESULT = (
    "{message}\n\nYour previous answer failed this check. Think about why it failed, then write a corrected "
    "answer to the task."
)
