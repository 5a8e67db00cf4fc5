"""The embedders DRAFT uses: the packaged MiniLM must compute what the real model computes."""

import asyncio

import numpy as np
import pytest

from ann.embed import LiteLLMEmbedder, LocalEmbedder, get_embedder
from ann.testing import OpenAIServer
from ann.testing.openai_server import letter_vector

# all-MiniLM-L6-v2's first dimensions for these sentences, as its sentence-transformers model card
# prints them; the numpy forward pass must reproduce the model, not merely some embedding.
REFERENCE = {
    "This is an example sentence": [0.0677, 0.0635, 0.0487, 0.0793, 0.0374, 0.0027, 0.0394, -0.0071],
    "Each sentence is converted": [0.0864, 0.1027, 0.0054, 0.0020, -0.0099, 0.0254, 0.0492, -0.0306],
}


def test_local_minilm_reproduces_the_published_embeddings() -> None:
    vectors = asyncio.run(LocalEmbedder()(list(REFERENCE)))
    for vector, expected in zip(vectors, REFERENCE.values(), strict=True):
        assert len(vector) == 384
        assert np.allclose(vector[:8], expected, atol=2e-3)
        assert np.linalg.norm(vector) == pytest.approx(1.0)


def test_local_minilm_ranks_a_paraphrase_above_an_unrelated_sentence() -> None:
    query, paraphrase, unrelated = asyncio.run(LocalEmbedder()(
        ["How many metres is 3 furlongs?", "Convert three furlongs into meters.", "The cat sat on the mat."]
    ))  # fmt: skip
    assert np.dot(query, paraphrase) > 0.8 > 0.2 > np.dot(query, unrelated)


def test_a_named_embedding_model_goes_through_litellm() -> None:
    with OpenAIServer() as server:
        embedder = get_embedder("openai/test-embed", api_base=server.base_url)
        assert isinstance(embedder, LiteLLMEmbedder)
        vectors = asyncio.run(embedder(["abc", "zz"]))
        assert vectors == [letter_vector("abc"), letter_vector("zz")]
        assert server.requests[0]["input"] == ["abc", "zz"]


def test_no_embedding_model_means_the_local_one() -> None:
    assert isinstance(get_embedder(None), LocalEmbedder)


def test_an_unreachable_embedding_model_is_one_line_naming_it() -> None:
    from ann.errors import LMError

    embedder = get_embedder("openai/missing", api_base="http://127.0.0.1:9/v1")
    with pytest.raises(LMError, match=r"^embedding model openai/missing: ") as error:
        asyncio.run(embedder(["x"]))
    assert "\n" not in str(error.value)
