"""Evaluation questions for the demo knowledge base, written apart from its examples.

None of these strings is an example question of the demo KB (a test checks it), so
top-1 accuracy on them measures paraphrase generalisation, not memorisation.
"""

PARAPHRASES_ZH: list[tuple[str, str]] = [
    ("刚才发现卡不见了要怎么处理", "lost-card"),
    ("开户的话要准备什么材料", "account-documents"),
    ("信用卡这个月的钱怎么还", "credit-card-repayment"),
    ("我想查查自己卡上还剩多少钱", "balance-inquiry"),
    ("周六你们上不上班", "weekend-hours"),
    ("跨行汇款一般几个小时能到", "transfer-arrival-time"),
    ("不小心把钱转给了陌生人怎么办", "wrong-transfer"),
    ("手机银行的登录密码想不起来了", "app-password-reset"),
    ("换了个手机手机银行用不了了", "device-binding"),
    ("定期存款现在的利率是多少", "deposit-rates"),
    ("小店老板可以申请贷款吗", "small-business-loan"),
    ("信用卡买东西能分几个月还", "credit-card-instalment"),
    ("买理财会不会亏本", "wealth-returns"),
    ("我想换一些港币", "fx-buy"),
    ("每个人一年能买多少美元", "fx-quota"),
    ("有问题打什么电话找你们", "customer-hotline"),
    ("视频柜员是怎么确认我是本人的", "video-counter-id"),
    ("取款机把卡吞进去了", "atm-card-retained"),
    ("银行卡的密码连着输错好几次", "pin-locked"),
    ("新办的信用卡怎么开通", "card-activation"),
    ("老卡很多年没用了还能取钱吗", "dormant-account"),
    ("我要把这张卡注销掉", "close-account"),
    ("春节放假期间网点开门吗", "holiday-hours"),
    ("离市北区近的支行在哪", "find-branch"),
    ("手机上收不到银行发的验证码", "sms-code"),
    ("存款放你们这儿安全吗", "deposit-insurance"),
    ("存了三年定期现在急用钱能拿出来吗", "early-withdrawal"),
    ("往国外汇钱需要提供什么", "international-wire"),
    ("非常感谢你的帮助", "thanks"),
    ("您好请问一下", "greeting"),
    ("房贷可以提前还清吗", "loan-early-repayment"),
    ("贷款这个月逾期了会怎样", "loan-overdue"),
    ("外国朋友想在这里开个账户", "foreigner-account"),
    ("手机银行怎么换成英文界面", "app-english"),
    ("买理财之前要做什么测试", "risk-assessment"),
]

PARAPHRASES_EN: list[tuple[str, str]] = [
    ("I can't find my debit card anywhere", "lost-card"),
    ("What ID should I bring to open an account", "account-documents"),
    ("How do I settle my credit card balance", "credit-card-repayment"),
    ("How much do I have left in my account", "balance-inquiry"),
    ("Do you open on Saturdays", "weekend-hours"),
    ("How quickly will money reach another bank", "transfer-arrival-time"),
    ("I accidentally paid the wrong person", "wrong-transfer"),
    ("I've forgotten the password for the banking app", "app-password-reset"),
    ("I switched to a new phone and the app wants verification", "device-binding"),
    ("What interest do you pay on savings", "deposit-rates"),
    ("Can my small shop borrow money from you", "small-business-loan"),
    ("Can I spread a big purchase on my credit card over several months", "credit-card-instalment"),
    ("Could I lose money on your investment products", "wealth-returns"),
    ("I'd like to buy some Hong Kong dollars", "fx-buy"),
    ("Is there a yearly limit on buying foreign currency", "fx-quota"),
    ("What number do I call for help", "customer-hotline"),
    ("How does the video teller confirm who I am", "video-counter-id"),
    ("The cash machine ate my card", "atm-card-retained"),
    ("I typed my PIN wrong three times and now it's blocked", "pin-locked"),
    ("How do I start using the credit card you sent me", "card-activation"),
    ("I haven't touched this account in years", "dormant-account"),
    ("Please cancel my account, I'm moving away", "close-account"),
    ("Are branches open during the Spring Festival", "holiday-hours"),
    ("Which branch is closest to Shibei", "find-branch"),
    ("The app never sends me the SMS code", "sms-code"),
    ("Is my money protected if the bank goes bust", "deposit-insurance"),
    ("Can I break my fixed deposit before it matures", "early-withdrawal"),
    ("What do I need to wire money to Australia", "international-wire"),
    ("That's very kind, thank you", "thanks"),
    ("Good afternoon", "greeting"),
    ("Can I pay off my mortgage ahead of schedule", "loan-early-repayment"),
    ("What happens if I'm late on my loan", "loan-overdue"),
    ("I'm from Germany, can I have a bank account with you", "foreigner-account"),
    ("My Chinese isn't good, can the app display English", "app-english"),
    ("Do I need to take a test before investing", "risk-assessment"),
]

# Whisper-style homophone errors: the characters are wrong, the sounds are right.
HOMOPHONES_ZH: list[tuple[str, str]] = [
    ("我想查一下卡里的鱼鹅", "balance-inquiry"),      # 余额 → 鱼鹅
    ("清导有哪些网点", "find-branch"),                # 青岛 → 清导
    ("开户要带身分证吗", "account-documents"),        # 身份证 → 身分证
    ("银行卡丢了要挂是", "lost-card"),                # 挂失 → 挂是
    ("鱼鹅在手机上哪里看", "balance-inquiry"),
    ("换了新的身分证要告诉银行吗", "update-id-info"),
]

OFF_TOPIC: list[str] = [
    "what's the weather on Mars",
    "给我讲个笑话",
    "who painted the Mona Lisa",
    "火星上有水吗",
    "how tall is Mount Everest",
    "帮我写作业",
    "what's a good topping for pizza",
    "今晚吃什么好呢",
    "is the moon made of cheese",
    "你会下象棋吗",
]
