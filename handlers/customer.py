"""The customer pipeline: what a customer's message gets.

Detect the language, then act on the classifier's decision: answer from the FAQ (translating
the default-language answer when the customer's language has none), look an order up after
verification, open a ticket for disputes, chat back politely, or admit it cannot help and offer
a person. Two fallbacks in a row open a ticket by themselves.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from handlers import escalation, orders
from handlers.messages import Button, IncomingMessage, Reply
from handlers.services import Services
from knowledge.classifier import Action, Classification, ClassifyRequest
from knowledge.language_names import language_names
from knowledge.library import OUT_OF_SCOPE
from store.conversation_log import log_entry
from store.customers import remember_language
from store.models import Contact, FaqFeedback

UNANSWERED_LIMIT = 2


def human_button(services: Services, language: str) -> Button:
    return Button(services.texts.get("button.human", language), "human")


def is_faq_entry(services: Services, entry_id: str) -> bool:
    """Whether ``entry_id`` names an FAQ entry in any language (button payloads can be forged)."""
    return any(entry_id in entries for entries in services.kb.faq.values())


def faq_reply(services: Services, entry_id: str, language: str) -> Reply:
    """The answer of FAQ entry ``entry_id`` in ``language``, machine-translated if need be."""
    texts, kb = services.texts, services.kb
    entry = kb.faq.get(language, {}).get(entry_id)
    buttons = (
        (
            Button(texts.get("button.helpful_yes", language), f"helpful:yes:{entry_id}"),
            Button(texts.get("button.helpful_no", language), f"helpful:no:{entry_id}"),
        ),
    )
    if entry is not None:
        return Reply(texts.fill(entry.answer), buttons=buttons, language=language)
    default = services.support.default_language
    source = kb.faq.get(default, {}).get(entry_id) or next(
        (entries[entry_id] for entries in kb.faq.values() if entry_id in entries), None
    )
    if source is None:
        return Reply(texts.get("fallback.text", language), language=language)
    answer = texts.fill(source.answer)
    translated = escalation.translate(services, answer, source.language, language)
    if translated is None:  # provider down or slow: the answer in the language we have
        return Reply(answer, buttons=buttons, language=source.language)
    note = texts.get("answer.machine_translated", language)
    return Reply(f"{translated}\n\n{note}", buttons=buttons, language=language)


def log_turn(
    session: Session,
    contact: Contact,
    text: str,
    result: Classification | None,
    replies: list[Reply],
    now: datetime,
) -> None:
    """Keep the conversation: what came in, what was decided, what went out."""
    log_entry(
        session,
        contact_id=contact.id,
        direction="in",
        text=text,
        language=result.language if result else None,
        action=str(result.action) if result else None,
        intent=result.intent if result else None,
        confidence=result.confidence if result else None,
        created_at=now,
    )
    for reply in replies:
        log_entry(
            session,
            contact_id=contact.id,
            direction="out",
            text=reply.text,
            language=reply.language,
            created_at=now,
        )


def classify_request(contact: Contact, message: IncomingMessage) -> ClassifyRequest:
    """What :func:`handle_text` asks the classifier about ``message``: the router asks it for
    a whole batch beforehand (:meth:`Classifier.prepared`)."""
    return ClassifyRequest(
        message.text,
        previous_language=contact.language,
        language_hint=message.language_hint,
        explicit_language=contact.language if contact.language_explicit else None,
    )


def needs_understanding(contact: Contact, message: IncomingMessage) -> bool:
    """Whether :func:`handle_text` will classify ``message`` (not an empty message, not a
    proof for the order the customer asked about)."""
    if not message.text.strip():
        return False
    return not (contact.pending_order_id and orders.looks_like_proof(message.text))


def handle_text(
    services: Services, session: Session, contact: Contact, message: IncomingMessage
) -> list[Reply]:
    """A customer's text message (not a command, not on a claimed ticket)."""
    now = services.clock()
    text = message.text
    language = contact.language or message.language_hint or services.support.default_language
    language = (
        language if language in services.support.languages else services.support.default_language
    )
    if not text.strip():
        return [Reply(services.texts.get("input.empty", language), language=language)]
    proof = orders.looks_like_proof(text) if contact.pending_order_id else None
    if proof:
        reply = orders.verify_and_reply(services, session, contact, proof, language)
        log_turn(session, contact, "[verification]", None, [], now)
        return [reply]
    result = services.classifier.classify_one(classify_request(contact, message))
    remember_language(contact, result.language)
    customer_language = result.language
    if customer_language not in services.support.languages:
        result = _understood_in_default(services, text, result)
    replies = act(services, session, contact, result, text)
    if result.truncated or message.truncated:
        replies.insert(
            0,
            Reply(services.texts.get("input.too_long", result.language), language=result.language),
        )
    if customer_language != result.language:
        replies = _in_customer_language(services, replies, customer_language)
    log_turn(session, contact, text, result, replies, now)
    return replies


def _understood_in_default(services: Services, text: str, result: Classification) -> Classification:
    """A message in a language the shop did not configure, answered in the default language.

    The encoder reads most languages itself; one it was not trained on is translated to the
    default language first, when a translator is configured.
    """
    default = services.support.default_language
    encoder_languages = services.classifier.encoder_languages
    if (
        services.translator.enabled
        and encoder_languages is not None
        and result.language not in encoder_languages
    ):
        translated = escalation.translate(services, text, result.language, default)
        if translated:
            result = services.classifier.classify(translated, explicit_language=default)
    return replace(result, language=default)


def _in_customer_language(services: Services, replies: list[Reply], language: str) -> list[Reply]:
    """Replies translated into ``language`` when a translator can; else one line says why not.

    Never silently in a third language: the customer learns that the answer is in the default
    language because theirs is not one the shop writes.
    """
    texts, default = services.texts, services.support.default_language
    out = []
    for reply in replies:
        translated = (
            escalation.translate(services, reply.text, reply.language or default, language)
            if services.translator.enabled
            else None
        )
        if translated:
            note = texts.get("answer.machine_translated", default)
            out.append(replace(reply, text=f"{translated}\n\n{note}", language=language))
        else:
            out.append(reply)
    if out and out[0].language != language:
        names = language_names(default)
        note = texts.get(
            "answer.language_unavailable",
            default,
            language=names.get(language, language),
            answer_language=names.get(default, default),
        )
        out[0] = replace(out[0], text=f"{note}\n\n{out[0].text}")
    return out


def act(
    services: Services, session: Session, contact: Contact, result: Classification, text: str
) -> list[Reply]:
    """Carry out the classifier's decision for ``contact``."""
    texts, language = services.texts, result.language
    if result.action is not Action.FALLBACK:
        contact.unanswered_count = 0
    if result.action is Action.ESCALATE:
        return [
            escalate_reply(
                services, session, contact, result.intent or "human", text, language, result.order
            )
        ]
    if result.action is Action.ORDER_STATUS:
        return [orders.customer_order_reply(services, session, contact, result.order, language)]
    if result.action is Action.SMALLTALK:
        # "are you a bot?": yes, and a person is one button away
        buttons = ((human_button(services, language),),) if result.intent == "bot_question" else ()
        return [
            Reply(
                texts.get(f"smalltalk.{result.intent}", language),
                buttons=buttons,
                language=language,
            )
        ]
    if result.action is Action.FAQ and result.sure and result.intent:
        return [faq_reply(services, result.intent, language)]
    if result.action is Action.FAQ and result.candidates:
        titles = services.kb.faq.get(language) or services.kb.faq.get(
            services.support.default_language, {}
        )
        rows = tuple(
            (
                Button(
                    titles[c.entry_id].title if c.entry_id in titles else c.entry_id,
                    f"faq:{c.entry_id}",
                ),
            )
            for c in result.candidates[:2]
        )
        rows += ((Button(texts.get("button.none_of_these", language), "human"),),)
        return [Reply(texts.get("fallback.unsure", language), buttons=rows, language=language)]
    if result.intent == OUT_OF_SCOPE:
        # off-topic ("a poem about cats"): a polite word on what the bot is for, not a ticket
        return [Reply(texts.get("fallback.out_of_scope", language), language=language)]
    contact.unanswered_count += 1
    if contact.unanswered_count >= UNANSWERED_LIMIT:
        contact.unanswered_count = 0
        return [escalate_reply(services, session, contact, "unanswered", text, language, None)]
    return [
        Reply(
            texts.get("fallback.text", language),
            buttons=((human_button(services, language),),),
            language=language,
        )
    ]


def escalate_reply(
    services: Services,
    session: Session,
    contact: Contact,
    reason: str,
    text: str | None,
    language: str,
    order_id: str | None,
) -> Reply:
    """Open or join the ticket and tell the customer a person will answer, and when (``text``
    None: the customer asked for a person without saying more)."""
    ticket, created = escalation.escalate(
        services, session, contact, reason=reason, text=text, language=language, order_id=order_id
    )
    # about the customer's own case: privately when they wrote in a group
    if created:
        opened = escalation.opened_text(services, ticket, language)
        return Reply(opened, language=language, private=True)
    added = services.texts.get("escalation.added", language, ticket=ticket.id)
    return Reply(added, language=language, private=True)


def record_feedback(
    services: Services, session: Session, contact: Contact, entry_id: str, helpful: bool
) -> Reply:
    """Store a 👍/👎 for an FAQ answer."""
    language = contact.language or services.support.default_language
    session.add(
        FaqFeedback(
            contact_id=contact.id,
            entry_id=entry_id,
            language=language,
            helpful=helpful,
            created_at=services.clock(),
        )
    )
    if helpful:
        return Reply(services.texts.get("feedback.thanks", language), language=language)
    return Reply(
        services.texts.get("feedback.sorry", language),
        buttons=((human_button(services, language),),),
        language=language,
    )
