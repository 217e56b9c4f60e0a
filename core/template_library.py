"""Persona templates: the built-in library (core/templates/*.toml) and templates users save from clones."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sqlmodel import Session, select

from core.config import LOCAL_OWNER
from core.errors import InvalidInput, NotFound
from core.owners import owned, resolve
from core.models import Clone, UserTemplate, utcnow
from core.prompts import LAYERS, active_prompts, add_version, check_variable_names, validate_layer

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
USER_PREFIX = "user-"
SETTING_KEYS = ("temperature", "max_tokens", "top_k", "hybrid", "min_score")
MY_TEMPLATES = "My templates"


@dataclass(frozen=True, eq=False)
class Template:
    id: str
    name: str
    icon: str
    category: str
    specialty: str
    description: str
    best_for: str
    tags: tuple[str, ...]
    variables: dict[str, str]
    settings: dict
    prompts: dict[str, str]
    builtin: bool = True
    search_text: str = field(default="", repr=False)

    def to_data(self) -> dict:
        """The template as plain data (what a user template stores and a bundle carries)."""
        return {
            "name": self.name, "icon": self.icon, "category": self.category, "specialty": self.specialty,
            "description": self.description, "best_for": self.best_for, "tags": list(self.tags),
            "variables": dict(self.variables), "settings": dict(self.settings), "prompts": dict(self.prompts),
        }


def template_from_data(template_id: str, data: dict, builtin: bool) -> Template:
    """Build a Template from a parsed file or stored row; a malformed one raises InvalidInput."""
    prompts = data.get("prompts") or {}
    missing = [layer for layer in LAYERS if not str(prompts.get(layer, "")).strip()]
    if not str(data.get("name", "")).strip() or missing:
        raise InvalidInput(f"The template '{template_id}' is incomplete (it needs a name and all three prompt layers).")
    settings = {key: value for key, value in (data.get("settings") or {}).items() if key in SETTING_KEYS}
    template = dict(
        id=template_id, name=str(data["name"]).strip(), icon=str(data.get("icon") or "🤖"),
        category=str(data.get("category") or ""), specialty=str(data.get("specialty") or ""),
        description=str(data.get("description") or ""), best_for=str(data.get("best_for") or ""),
        tags=tuple(str(tag) for tag in data.get("tags") or ()),
        variables={str(k): str(v) for k, v in (data.get("variables") or {}).items()},
        settings=settings, prompts={layer: str(prompts[layer]).strip() for layer in LAYERS}, builtin=builtin,
    )
    words = [template["name"], template["category"], template["specialty"], template["description"],
             template["best_for"], *template["tags"]]
    return Template(**template, search_text=" ".join(words).lower())


@lru_cache(maxsize=1)
def _builtin_templates() -> tuple[Template, ...]:
    templates = []
    for path in sorted(TEMPLATES_DIR.glob("*.toml")):
        with path.open("rb") as handle:
            templates.append(template_from_data(path.stem, tomllib.load(handle), builtin=True))
    return tuple(templates)


def _user_templates(session: Session, owner_id: str) -> list[Template]:
    rows = session.exec(
        select(UserTemplate).where(UserTemplate.owner_id == owner_id).order_by(UserTemplate.created_at)
    ).all()
    return [template_from_data(USER_PREFIX + row.id, row.data, builtin=False) for row in rows]


def list_templates(
    session: Session | None = None, *, query: str = "", category: str | None = None, owner_id: str | None = None,
) -> list[Template]:
    """Built-in templates (by name), then the owner's own; filtered by words in `query` and by category."""
    templates = sorted(_builtin_templates(), key=lambda t: t.name)
    if session is not None:
        templates += _user_templates(session, resolve(session, owner_id))
    words = query.lower().split()
    return [
        t for t in templates
        if (not category or t.category == category) and all(word in t.search_text for word in words)
    ]


def categories(session: Session | None = None, owner_id: str | None = None) -> list[str]:
    return sorted({t.category for t in list_templates(session, owner_id=owner_id) if t.category})


def get_template(template_id: str, session: Session | None = None, owner_id: str | None = None) -> Template:
    if template_id.startswith(USER_PREFIX):
        if session is None:
            raise NotFound(f"There is no built-in template called '{template_id}'; list the templates to see the ids.")
        row = session.get(UserTemplate, template_id[len(USER_PREFIX):])
        if row is None or row.owner_id != resolve(session, owner_id):
            raise NotFound("That saved template no longer exists; pick another one.")
        return template_from_data(template_id, row.data, builtin=False)
    for template in _builtin_templates():
        if template.id == template_id:
            return template
    raise NotFound(f"There is no template called '{template_id}'; run `python -m core templates list` to see the ids.")


def merged_variables(template: Template, current: dict | None = None, overrides: dict | None = None) -> dict[str, str]:
    """Template defaults, then values the clone already has, then the user's choices; a template variable
    left blank keeps its default (a mental-health persona never loses its crisis line)."""
    chosen = {k: v for k, v in {**(current or {}), **(overrides or {})}.items()
              if k not in template.variables or str(v or "").strip()}
    return check_variable_names({**template.variables, **chosen})


def preview(template: Template, name: str, description: str = "", variables: dict | None = None) -> dict[str, str]:
    """Each layer rendered as a clone with this name would see it (sources and question are samples)."""
    clone = Clone(name=name or template.name, slug="preview", description=description or template.description,
                  specialty=template.specialty)
    values = merged_variables(template, None, variables)
    return {layer: validate_layer(clone, layer, template.prompts[layer], variables=values) for layer in LAYERS}


def stage_template(session: Session, clone: Clone, template: Template, variables: dict | None = None,
                   *, author: str = LOCAL_OWNER, message: str | None = None) -> None:
    """Validate and stage a template onto a clone: new active versions where the text differs, variables,
    classification and suggested settings. The caller commits (one transaction)."""
    values = merged_variables(template, clone.variables, variables)
    for layer in LAYERS:
        validate_layer(clone, layer, template.prompts[layer], variables=values)
    message = message or f"Applied template {template.name}"
    current = active_prompts(session, clone.id)
    for layer in LAYERS:
        active = current.get(layer)
        if active is None or active.content != template.prompts[layer]:
            add_version(session, clone, layer, template.prompts[layer], message, author=author,
                        parent=active.version if active else None, activate=True)
    clone.variables = values
    clone.template_id = template.id
    clone.specialty = template.specialty or clone.specialty
    clone.category = template.category or clone.category
    clone.tags = list(dict.fromkeys([*(clone.tags or []), *template.tags]))
    for key, value in template.settings.items():
        setattr(clone, key, value)
    clone.updated_at = utcnow()
    session.add(clone)


def apply_template(runtime, clone_id: str, template_id: str, variables: dict | None = None,
                   *, author: str = LOCAL_OWNER) -> Clone:
    """Give a clone a template's prompts (as new versions "Applied template X"), variables and settings."""
    with runtime.session() as session:
        clone = owned(session, Clone, clone_id, "That clone no longer exists; pick another one.")
        template = get_template(template_id, session, clone.owner_id)
        stage_template(session, clone, template, variables, author=author)
        session.commit()
        session.refresh(clone)
        return clone


def save_as_template(runtime, clone_id: str, name: str, *, description: str | None = None,
                     category: str | None = None, best_for: str = "") -> Template:
    """Save a clone's active prompts, variables and settings as the owner's own template."""
    name = name.strip()
    if not name:
        raise InvalidInput("Give the template a name, then save again.")
    with runtime.session() as session:
        clone = owned(session, Clone, clone_id, "That clone no longer exists; pick another one.")
        if any(t.name.lower() == name.lower() for t in _user_templates(session, clone.owner_id)):
            raise InvalidInput(f"You already have a template called '{name}'; choose another name.")
        prompts = {layer: row.content for layer, row in active_prompts(session, clone.id).items()}
        data = {
            "name": name, "icon": clone.avatar, "category": category or clone.category or MY_TEMPLATES,
            "specialty": clone.specialty, "description": clone.description if description is None else description,
            "best_for": best_for, "tags": list(clone.tags or []), "variables": dict(clone.variables or {}),
            "settings": {key: getattr(clone, key) for key in SETTING_KEYS}, "prompts": prompts,
        }
        template_from_data("new", data, builtin=False)
        row = UserTemplate(owner_id=clone.owner_id, name=name, data=data)
        session.add(row)
        session.commit()
        return template_from_data(USER_PREFIX + row.id, row.data, builtin=False)


def delete_user_template(runtime, template_id: str, owner_id: str | None = None) -> None:
    if not template_id.startswith(USER_PREFIX):
        raise InvalidInput("Built-in templates cannot be deleted; only templates you saved can.")
    with runtime.session() as session:
        row = session.get(UserTemplate, template_id[len(USER_PREFIX):])
        if row is None or row.owner_id != resolve(session, owner_id):
            raise NotFound("That saved template no longer exists.")
        session.delete(row)
        session.commit()
