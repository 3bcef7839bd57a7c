"""The function-calling agent: prompt, call protocols, step loop."""

from fcdistill.agent.loop import Agent, AgentConfig

__all__ = ["Agent", "AgentConfig"]
