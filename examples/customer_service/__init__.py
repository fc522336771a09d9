"""Example customer-service voice agent for the fictional shop "Brightleaf Home".

The bot logic lives in plain modules that need neither LiveKit nor a network:
``kb`` (the JSON knowledge base), ``embed`` (MiniLM sentence embeddings), ``retrieval``
(FAQ matching), ``tools`` (order status, returns policy, FAQ), ``llm`` (an OpenAI-compatible
chat client), ``bot`` (the conversation), ``tts`` (local speech synthesis) and ``stt``
(faster-whisper). ``agent.py`` wires them into a LiveKit voice agent with the avatar.
"""
