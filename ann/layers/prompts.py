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
