"""A deterministic generator of synthetic cyber-policy news articles, for benchmarks at scale."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from index.corpus import render_markdown, write_if_changed

AGENCIES = ["CISA", "the FBI", "the NSA", "ENISA", "the NCSC", "the SEC", "the FCC", "the TSA", "Europol", "the ACSC"]
COMPANIES = [
    "Northwind Energy", "Contoso Bank", "Fabrikam Health", "Tailspin Airlines", "Litware Logistics",
    "Adatum Water", "Proseware Telecom", "Wingtip Retail", "Woodgrove Insurance", "Lucerne Foods",
    "Blue Yonder Ports", "Margie Travel", "Coho Vineyards", "Fourth Coffee", "Alpine Ski Resorts",
]
ACTORS = ["LockBit", "BlackCat", "Cl0p", "Scattered Spider", "Volt Typhoon", "APT29", "Lazarus", "Conti", "Akira", "Rhysida"]
COUNTRIES = ["the United States", "Germany", "France", "Japan", "Australia", "Canada", "Brazil", "India", "Kenya", "Poland"]
PEOPLE = [
    "Maria Lopez", "James Chen", "Aisha Okafor", "Tomas Novak", "Priya Raman", "Lena Fischer", "David Kim",
    "Sofia Rossi", "Omar Haddad", "Emily Carter", "Kenji Sato", "Grace Mwangi",
]
ROLES = ["director", "chief executive", "minister", "spokesperson", "chief information security officer", "senator"]
TOPICS = ["ransomware", "data breach", "phishing campaign", "supply-chain compromise", "zero-day exploit", "DDoS attack"]
POLICIES = [
    "incident reporting rule", "software bill of materials guidance", "critical infrastructure directive",
    "ransom payment ban", "cyber insurance standard", "secure-by-design pledge", "data protection fine",
]


def article_text(rng: random.Random, n: int) -> tuple[str, str, date]:
    """One article: (title, body, published)."""
    company, actor, agency = rng.choice(COMPANIES), rng.choice(ACTORS), rng.choice(AGENCIES)
    person, role, country = rng.choice(PEOPLE), rng.choice(ROLES), rng.choice(COUNTRIES)
    topic, policy = rng.choice(TOPICS), rng.choice(POLICIES)
    published = date(2019, 1, 1) + timedelta(days=rng.randrange(0, 6 * 365))
    amount = rng.choice([1.2, 2.5, 4.4, 7, 11, 22, 40]) * rng.choice([1, 10])
    systems = rng.randrange(2, 900)
    title = f"{company} hit by {topic} as {agency} weighs {policy} (report {n})"
    sentences = [
        f"{company} said on {published:%A} that a {topic} linked to {actor} disrupted operations in {country}.",
        f"The company disclosed that {systems} systems were taken offline while investigators worked.",
        f"{person}, the {role}, said the attackers demanded ${amount:g} million in cryptocurrency.",
        f"{agency} issued an advisory urging operators to patch exposed servers within {rng.randrange(2, 30)} days.",
        f"Lawmakers in {country} cited the case while debating a {policy} for critical infrastructure.",
        f"Analysts said {actor} has targeted at least {rng.randrange(3, 60)} organisations since {published.year - 1}.",
        f"Customers were told to reset passwords and watch for fraudulent emails about the {topic}.",
        f"The {policy} would require firms to notify regulators within {rng.choice([24, 72, 96])} hours.",
        f"{rng.choice(PEOPLE)} of {rng.choice(COMPANIES)} said insurers are raising premiums after the incident.",
        f"Officials did not say whether a ransom was paid, and {company} declined to comment further.",
    ]
    rng.shuffle(sentences)
    body = " ".join(sentences[: rng.randrange(6, 11)])
    return title, body, published


def write_corpus(folder: Path, count: int, seed: int = 7) -> list[Path]:
    """Write ``count`` Markdown articles into ``folder`` (same seed, same corpus)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        title, body, published = article_text(rng, n)
        path = folder / f"synthetic-{n:05d}.md"
        text = render_markdown(
            title=title, source="synthetic", url=f"https://example.org/synthetic/{n}", published=published, body=body
        )
        write_if_changed(path, text)
        paths.append(path)
    return paths


def questions(count: int, seed: int = 11) -> list[str]:
    """Questions in the corpus's vocabulary, for latency runs."""
    rng = random.Random(seed)
    forms = [
        "How much did {actor} demand from {company}?",
        "Who is the {role} quoted about the {topic}?",
        "What did {agency} tell operators to do?",
        "When was {company} hit by {actor}?",
        "Which {policy} is {country} debating?",
        "How many systems did {company} take offline?",
        "latest {topic} news",
    ]
    return [
        rng.choice(forms).format(
            actor=rng.choice(ACTORS), company=rng.choice(COMPANIES), role=rng.choice(ROLES), topic=rng.choice(TOPICS),
            agency=rng.choice(AGENCIES), policy=rng.choice(POLICIES), country=rng.choice(COUNTRIES),
        )
        for _ in range(count)
    ]
