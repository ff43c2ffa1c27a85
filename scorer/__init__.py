"""leadscore's pure scoring core: rules, decay, stages, triggers, fit, explanations.

Imports only the standard library and `schemas`; time is always a parameter. See
engine.py for the contracts of apply_event and friends.
"""

from scorer.credits import Contribution
from scorer.engine import advance, apply_event, rescore, update_traits
from scorer.events import ScoringEvent
from scorer.explain import CreditExplanation, Explanation, RuleExplanation, explain
from scorer.ledger import next_crossing, score_at
from scorer.merging import merge
from scorer.outputs import StageChange, Update, change_id
from scorer.parsing import check_rules, load_rules, parse_rules
from scorer.problems import Problem, RulesError
from scorer.rules import Cap, FitRule, Grades, Rule, Rules, Trigger
from scorer.state import LeadState, new_state, state_from_dict, state_to_dict

__all__ = [
    "Cap",
    "Contribution",
    "CreditExplanation",
    "Explanation",
    "FitRule",
    "Grades",
    "LeadState",
    "Problem",
    "Rule",
    "RuleExplanation",
    "Rules",
    "RulesError",
    "ScoringEvent",
    "StageChange",
    "Trigger",
    "Update",
    "advance",
    "apply_event",
    "change_id",
    "check_rules",
    "explain",
    "load_rules",
    "merge",
    "new_state",
    "next_crossing",
    "parse_rules",
    "rescore",
    "score_at",
    "state_from_dict",
    "state_to_dict",
    "update_traits",
]
