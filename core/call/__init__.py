"""A live voice call with a clone: WebRTC audio -> VAD -> STT -> chat turn -> TTS by sentence.

vad.py (Silero speech probability, turn detection), chunker.py (answer text -> speakable
pieces), speakable.py (text as it is read aloud), buffer.py (the pending reply audio and
its WebRTC track), turn.py (one voice turn, shared by the call and `python -m core call`),
session.py (the per-call worker), ice.py (ICE servers: none unless configured).
"""
