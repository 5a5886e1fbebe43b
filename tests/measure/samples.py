"""Small SQuAD and MultiHop-RAG samples in the benchmarks' own formats, for the set readers and the CLI."""

from __future__ import annotations

SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "Computer_security",
            "paragraphs": [
                {
                    "context": "Computer security is the protection of computer systems from theft.",
                    "qas": [
                        {
                            "id": "s1",
                            "question": "What is computer security?",
                            "answers": [
                                {"text": "the protection of computer systems", "answer_start": 20},
                                {"text": "protection of computer systems", "answer_start": 24},
                                {"text": "the protection of computer systems", "answer_start": 20},
                            ],
                        }
                    ],
                },
                {
                    "context": "The Morris worm of 1988 was one of the first computer worms on the Internet.",
                    "qas": [
                        {"id": "s2", "question": "When was the Morris worm?", "answers": [{"text": "1988"}]},
                        {
                            "id": "s3",
                            "question": "Who wrote the Blaster worm?",
                            "answers": [],
                            "is_impossible": True,
                        },
                    ],
                },
            ],
        },
        {
            "title": "Sky_(United_Kingdom)",
            "paragraphs": [{"context": "Sky UK is a British broadcaster owned by Comcast since 2018.", "qas": []}],
        },
    ],
}

EVIDENCE_A = {
    "author": "Ann Writer",
    "category": "technology",
    "fact": "The agency fined the company $5 million for the breach.",
    "published_at": "2023-10-02T10:00:00+00:00",
    "source": "The Verge",
    "title": "Regulator fines company over breach",
    "url": "https://example.com/a",
}

EVIDENCE_B = {
    "author": None,
    "category": "business",
    "fact": "Sam Bankman-Fried was found guilty on all counts by the jury.",
    "published_at": "2023-11-03T09:00:00+00:00",
    "source": "TechCrunch",
    "title": "SBF verdict",
    "url": "https://example.com/b",
}

QUERIES = {
    "queries": [
        {
            "id": "0",
            "question": "Who was found guilty after the breach fine?",
            "question_type": "inference_query",
        },
        {"id": "1", "question": "Do both reports agree?", "question_type": "comparison_query"},
        {"id": "2", "question": "What did the moon say?", "question_type": "null_query"},
    ]
}

TRUTH = {
    "0": {"answer": "Sam Bankman-Fried", "evidence_list": [EVIDENCE_A, EVIDENCE_B]},
    "1": {
        "answer": "Yes",
        "evidence_list": [{**EVIDENCE_A, "fact": "The company said it would appeal the fine."}, EVIDENCE_B],
    },
    "2": {"answer": "Insufficient information.", "evidence_list": []},
}
