"""Ready adapters that record what popular agent and LLM frameworks do, without changing the agent's code."""
