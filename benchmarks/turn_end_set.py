"""The turn-end evaluation set (issue 14): questions with pauses inside them, and complete ones.

Written on 2026-12-03 before any turn-end rule was tuned, and split the same day. The lists come
in pairs (a Mandarin item, then its English counterpart): even-numbered pairs are the development
half (used to choose the turn-end settings), odd-numbered pairs the held-out half (measured with
the chosen settings, never used to choose them).

PAUSED: (before the pause, after it, language, the entry the whole question is about, kind). The
part before the pause is often a sentence on its own, so a transcript alone cannot tell that more
is coming: between clauses ("clause"), after a topic word ("topic"), or a hesitation ("hesitation").
Pauses are 0.3–0.9 s (`pause_s`). COMPLETE: questions spoken without a pause, which should still be
answered early. Each is spoken by the bundled voice of its language and by espeak-ng.
"""

from __future__ import annotations

PAUSES_S = (0.3, 0.45, 0.6, 0.75, 0.9)

PAUSED: list[tuple[str, str, str, str, str]] = [
    ("我想换美元，", "可以在网点办理吗？", "zh", "fx-buy", "clause"),
    ("I want to change some dollars,", "can I do that at a branch?", "en", "fx-buy", "clause"),
    ("我的银行卡丢了，", "现在要怎么挂失？", "zh", "lost-card", "clause"),
    ("I lost my card,", "how do I report it?", "en", "lost-card", "clause"),
    ("我想开个账户，", "需要带哪些证件？", "zh", "account-documents", "clause"),
    ("I'd like to open an account,", "what documents should I bring?", "en", "account-documents", "clause"),
    ("我昨天转了一笔钱，", "到现在还没到账怎么办？", "zh", "transfer-arrival-time", "clause"),
    ("I made a transfer yesterday,", "when will it arrive?", "en", "transfer-arrival-time", "clause"),
    ("信用卡", "这个月的账单怎么还？", "zh", "credit-card-repayment", "topic"),
    ("My credit card", "how do I pay this month's bill?", "en", "credit-card-repayment", "topic"),
    ("定期存款", "现在利率是多少？", "zh", "deposit-rates", "topic"),
    ("Fixed deposits", "what rate do you pay now?", "en", "deposit-rates", "topic"),
    ("手机银行", "登录不上去了怎么办？", "zh", "app-login-problem", "topic"),
    ("The mobile app", "it won't let me log in, what should I do?", "en", "app-login-problem", "topic"),
    ("嗯……", "我想问一下你们周末营业吗？", "zh", "weekend-hours", "hesitation"),
    ("Um,", "are you open on weekends?", "en", "weekend-hours", "hesitation"),
    ("那个……", "卡被取款机吞了怎么办？", "zh", "atm-card-retained", "hesitation"),
    ("Well,", "the cash machine kept my card, what now?", "en", "atm-card-retained", "hesitation"),
    ("我想提前还房贷，", "需要什么手续？", "zh", "loan-early-repayment", "clause"),
    ("I want to pay off my mortgage early,", "what do I need to do?", "en", "loan-early-repayment", "clause"),
    ("我换了新手机，", "手机银行要重新绑定吗？", "zh", "device-binding", "clause"),
    ("I got a new phone,", "do I need to bind the app again?", "en", "device-binding", "clause"),
    ("密码输错了好几次，", "卡是不是被锁了？", "zh", "pin-locked", "clause"),
    ("I entered the wrong PIN a few times,", "is my card locked now?", "en", "pin-locked", "clause"),
    ("外币", "每年能换多少？", "zh", "fx-quota", "topic"),
    ("Foreign currency", "how much can I buy each year?", "en", "fx-quota", "topic"),
    ("理财产品", "会不会亏本？", "zh", "wealth-returns", "topic"),
    ("Wealth products", "can I lose money on them?", "en", "wealth-returns", "topic"),
    ("呃，", "信用卡额度能不能提高？", "zh", "credit-limit-increase", "hesitation"),
    ("Er,", "can I raise my credit limit?", "en", "credit-limit-increase", "hesitation"),
    ("我要给国外的孩子汇款，", "需要提供什么材料？", "zh", "international-wire", "clause"),
    ("I need to send money to my daughter abroad,", "what do you need from me?", "en", "international-wire", "clause"),
    ("我的卡快过期了，", "新卡怎么领？", "zh", "card-expiry", "clause"),
    ("My card is about to expire,", "how do I get the new one?", "en", "card-expiry", "clause"),
    ("视频柜员", "几点可以办理业务？", "zh", "video-counter-hours", "topic"),
    ("The video counter", "what hours is it open?", "en", "video-counter-hours", "topic"),
    ("就是……", "我想查一下账户余额。", "zh", "balance-inquiry", "hesitation"),
    ("So,", "how can I check my balance?", "en", "balance-inquiry", "hesitation"),
    ("我不小心转错账了，", "钱能追回来吗？", "zh", "wrong-transfer", "clause"),
    ("I sent money to the wrong account,", "can I get it back?", "en", "wrong-transfer", "clause"),
]

COMPLETE: list[tuple[str, str, str]] = [
    ("你们周六上班吗？", "zh", "weekend-hours"),
    ("What time do you open on Saturdays?", "en", "weekend-hours"),
    ("怎么挂失银行卡？", "zh", "lost-card"),
    ("How do I report a lost card?", "en", "lost-card"),
    ("跨行转账要多久到账？", "zh", "transfer-arrival-time"),
    ("How long does a transfer to another bank take?", "en", "transfer-arrival-time"),
    ("信用卡怎么还款？", "zh", "credit-card-repayment"),
    ("How can I repay my credit card?", "en", "credit-card-repayment"),
    ("手机银行密码忘了怎么办？", "zh", "app-password-reset"),
    ("I forgot my mobile banking password, what should I do?", "en", "app-password-reset"),
    ("开户需要带什么证件？", "zh", "account-documents"),
    ("What ID do I need to open an account?", "en", "account-documents"),
    ("现在美元汇率是多少？", "zh", "fx-rates"),
    ("What's the exchange rate for US dollars today?", "en", "fx-rates"),
    ("信用卡有年费吗？", "zh", "card-annual-fee"),
    ("Is there an annual fee on the credit card?", "en", "card-annual-fee"),
    ("最近的网点在哪里？", "zh", "find-branch"),
    ("Where is the nearest branch?", "en", "find-branch"),
    ("存款有保险吗？", "zh", "deposit-insurance"),
    ("Are my deposits insured?", "en", "deposit-insurance"),
    ("怎么申请信用卡？", "zh", "credit-card-apply"),
    ("How do I apply for a credit card?", "en", "credit-card-apply"),
    ("客服电话是多少？", "zh", "customer-hotline"),
    ("What's your customer service number?", "en", "customer-hotline"),
]


# A second held-out set, written on 2026-12-03 (session 8) before that session changed the turn-end
# rules, and never used to choose them: new phrasings and new entries, and pauses after a
# question-form opening ("怎么办理……", "How do I pay…") that only the retrieval check can hold.
HELDOUT2_PAUSED: list[tuple[str, str, str, str, str]] = [
    ("我想办一张信用卡，", "要什么条件？", "zh", "credit-card-apply", "clause"),
    ("I'd like a credit card,", "what do I need to qualify?", "en", "credit-card-apply", "clause"),
    ("我的卡被冻结了，", "怎么解冻？", "zh", "card-frozen", "clause"),
    ("My card has been frozen,", "how do I unfreeze it?", "en", "card-frozen", "clause"),
    ("大额存单", "起存金额是多少？", "zh", "large-deposit-certificate", "topic"),
    ("Large deposit certificates", "what's the minimum amount?", "en", "large-deposit-certificate", "topic"),
    ("嗯，我想问一下……", "你们节假日开门吗？", "zh", "holiday-hours", "hesitation"),
    ("Uh, I wanted to ask,", "are you open on public holidays?", "en", "holiday-hours", "hesitation"),
    ("房贷", "能提前还吗？", "zh", "loan-early-repayment", "topic"),
    ("My mortgage", "can I repay it early?", "en", "loan-early-repayment", "topic"),
    ("我收到一条陌生的扣款短信，", "是不是被盗刷了？", "zh", "suspicious-transaction", "clause"),
    ("I got a text about a payment I didn't make,", "what should I do?", "en", "suspicious-transaction", "clause"),
    ("转账失败了，", "钱会退回来吗？", "zh", "transfer-failed", "clause"),
    ("My transfer failed,", "will the money come back?", "en", "transfer-failed", "clause"),
    ("那个，", "零钱在哪里可以换？", "zh", "coin-exchange", "hesitation"),
    ("Hmm,", "where can I get coins?", "en", "coin-exchange", "hesitation"),
    ("怎么办理……", "社保卡？", "zh", "social-security-card", "question-form"),
    ("How do I pay…", "my utility bills?", "en", "utility-payment", "question-form"),
    ("我要存一笔钱，", "定期利率多少？", "zh", "deposit-rates", "clause"),
    ("I want to deposit some money,", "what's the fixed-term rate?", "en", "deposit-rates", "clause"),
]

HELDOUT2_COMPLETE: list[tuple[str, str, str]] = [
    ("视频柜员能办什么业务？", "zh", "video-counter-services"),
    ("What can I do at the video counter?", "en", "video-counter-services"),
    ("银行卡怎么激活？", "zh", "card-activation"),
    ("How do I activate my new card?", "en", "card-activation"),
    ("转账限额是多少？", "zh", "transfer-limit"),
    ("What's the daily transfer limit?", "en", "transfer-limit"),
    ("个人贷款利息多少？", "zh", "personal-loan"),
    ("What's the interest rate on a personal loan?", "en", "personal-loan"),
    ("为什么我的卡被冻结了？", "zh", "card-frozen"),
    ("Why was my card blocked?", "en", "card-frozen"),
    ("境外能用银行卡吗？", "zh", "card-abroad"),
    ("Can I use my card abroad?", "en", "card-abroad"),
]

# A third held-out set, written on 2026-12-03 (session 8) after the rule changes that the second
# one prompted, before any run on it, and never used to choose anything: once more new phrasings
# and entries, four of the pauses after a question-form opening.
HELDOUT3_PAUSED: list[tuple[str, str, str, str, str]] = [
    ("我想办理大额取现，", "需要提前预约吗？", "zh", "large-cash-withdrawal", "clause"),
    ("I need to withdraw a lot of cash,", "do I have to book ahead?", "en", "large-cash-withdrawal", "clause"),
    ("社保卡", "丢了怎么补办？", "zh", "social-security-card", "topic"),
    ("My social security card", "how do I get a replacement?", "en", "social-security-card", "topic"),
    ("嗯……", "我的账户好久没用了，还能用吗？", "zh", "dormant-account", "hesitation"),
    ("Um, so,", "my account hasn't been used for years, is it still active?", "en", "dormant-account", "hesitation"),
    ("我在国外，", "银行卡能刷吗？", "zh", "card-abroad", "clause"),
    ("I'm travelling overseas,", "will my card work there?", "en", "card-abroad", "clause"),
    ("怎么查……", "我的征信报告？", "zh", "credit-report", "question-form"),
    ("How can I check…", "my credit report?", "en", "credit-report", "question-form"),
    ("我想买理财，", "要先做风险评估吗？", "zh", "risk-assessment", "clause"),
    ("I'd like to buy a wealth product,", "do I need a risk test first?", "en", "risk-assessment", "clause"),
    ("那个……", "指纹登录怎么开？", "zh", "fingerprint-login", "hesitation"),
    ("Er, well,", "how do I turn on fingerprint login?", "en", "fingerprint-login", "hesitation"),
    ("验证码", "一直收不到怎么办？", "zh", "sms-code", "topic"),
    ("The verification code", "never arrives, what can I do?", "en", "sms-code", "topic"),
    ("能不能……", "帮我预约明天办业务？", "zh", "appointment-booking", "question-form"),
    ("Can I…", "book an appointment for tomorrow?", "en", "appointment-booking", "question-form"),
    ("我想投诉，", "应该找谁？", "zh", "complaint", "clause"),
    ("I want to make a complaint,", "who should I talk to?", "en", "complaint", "clause"),
]

HELDOUT3_COMPLETE: list[tuple[str, str, str]] = [
    ("手机银行有英文版吗？", "zh", "app-english"),
    ("Is the mobile app available in English?", "en", "app-english"),
    ("存款证明怎么开？", "zh", "proof-of-deposit"),
    ("How do I get a proof of deposit?", "en", "proof-of-deposit"),
    ("定期提前支取会损失利息吗？", "zh", "early-withdrawal"),
    ("Do I lose interest if I take out a fixed deposit early?", "en", "early-withdrawal"),
    ("外国人能在这里开户吗？", "zh", "foreigner-account"),
    ("Can a foreigner open an account here?", "en", "foreigner-account"),
    ("附近哪里有取款机？", "zh", "atm-locations"),
    ("Where can I find an ATM?", "en", "atm-locations"),
    ("转账手续费怎么收？", "zh", "transfer-fees"),
    ("What are the fees for a transfer?", "en", "transfer-fees"),
]

EXTRA = {"heldout2": (HELDOUT2_PAUSED, HELDOUT2_COMPLETE), "heldout3": (HELDOUT3_PAUSED, HELDOUT3_COMPLETE)}
HALVES = ("dev", "heldout", "all", *EXTRA)


def pick(half: str) -> tuple[list[tuple[int, tuple]], list[tuple[int, tuple]]]:
    """(paused, complete) items of `half`, each with its position (which sets its pause)."""
    if half in EXTRA:
        paused, complete = EXTRA[half]
        return list(enumerate(paused)), list(enumerate(complete))
    return split(PAUSED, half), split(COMPLETE, half)


def split(items: list, half: str) -> list[tuple[int, object]]:
    """(position, item) of "dev" (even-numbered pairs), "heldout" (odd-numbered) or "all"."""
    if half not in ("dev", "heldout", "all"):
        raise ValueError(f"half must be dev, heldout or all, not {half!r}")
    keep = {"dev": (0,), "heldout": (1,), "all": (0, 1)}[half]
    return [(i, item) for i, item in enumerate(items) if (i // 2) % 2 in keep]


def pause_of(position: int) -> float:
    """The pause inside PAUSED[position]: the lengths cycle so both halves get every length."""
    return PAUSES_S[(position // 2) % len(PAUSES_S)]
