"""ElevenLabs wire format for the voice tests: a voice library with a premade and a cloned voice."""

LIBRARY = {
    "voices": [
        {"voice_id": "v-rachel", "name": "Rachel", "category": "premade", "description": "Calm narration",
         "labels": {"gender": "female", "accent": "american"}, "verified_languages": [{"language": "en", "model_id": "m"}]},
        {"voice_id": "v-mine", "name": "My Narrator", "category": "cloned",
         "labels": {"gender": "male", "accent": "british"}, "verified_languages": [{"language": "en", "model_id": "m"}]},
    ],
    "has_more": False, "total_count": 2, "next_page_token": None,
}
