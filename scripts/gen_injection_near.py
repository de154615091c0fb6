import re
"""Writes the `[[rule.near]]` tables of src/detect/injection/rules.toml: stem groups for
instruction override, prompt extraction, jailbreak personas, text addressed to the AI and
exfiltration in some forty languages. The lists are kept here because several tables share
them (the negations, the words for "user" and for instructions); run from the repository root,
it replaces the tables it wrote before.

Usage: python3 scripts/gen_injection_near.py
"""
import pathlib
import re

p = pathlib.Path(__file__).resolve().parent.parent / 'src/detect/injection/rules.toml'
s = p.read_text()
# Drop the tables of an earlier run: each runs from its comment to the next rule or table.
s = re.sub(r'\n(?:# [^\n]*\n)*\[\[rule\.near\]\]\n.*?(?=\n(?:# [^\n]*\n)*\[\[rule(?:\.near)?\]\]|\Z)', '', s, flags=re.S)

def arr(words, indent='    ', width=112):
    out=[];line=indent
    for w in words:
        tok='"%s", '%w
        if len(line)+len(tok)>width:
            out.append(line.rstrip()); line=indent
        line+=tok
    out.append(line.rstrip())
    return '\n'.join(out)

def near(comment, within, groups, anchor=None, nots=None, clause=True):
    t='\n'+''.join('# %s\n'%c for c in comment.split('\n'))+'[[rule.near]]\nwithin = %d\n'%within
    if anchor: t+='anchor = "%s"\n'%anchor
    if not clause: t+='clause = false\n'
    t+='groups = [\n'
    for name,ws in groups:
        t+='  [ # %s\n%s\n  ],\n'%(name,arr(ws))
    t+=']\n'
    if nots:
        t+='not = [\n%s\n]\n'%arr(nots,'  ')
    return t

NEG = ["n ","ne ","pas ","no ","non ","nu ","nicht ","nie ","ikke ","inte ","niet ","не ","ні ","älä ","ära ","nem ","ne ","μην ","δεν ",
       "אל ","לא ","لا ","مت ","نہ ","मत","न ","jangan ","đừng ","không ","อย่า","不要","别","別","勿","지 마","지 말","ないで","ません",
       "نکن","نکنید","نگیر","نگیرید","নয়","না ","ليس","tidak ","hindi ","sakın ","asla ","never","don t","do not","not "]

V_SVO = ["ignor","zignor","oubli","fais abstraction","ne tiens pas compte","ne tenez pas compte","ne tiens plus compte","ne tenez plus compte","lascia perdere","lasciate perdere","non considerare",
  "olvid","abandone","abandona","abandonne","non seguire più","non seguire piu","přestaň dodržovat","припини виконувати","перестань следовать","перестань выполнять","haz caso omiso","deja de lado","dejá de lado","haz a un lado","no sigas","deja de seguir","anula","cancela","ne suis pas","ne suis plus","arrête de suivre","annule","annulez","non seguire","smetti di seguire","annulla","não siga","pare de seguir","anule","folge nicht","befolge nicht","hör auf","volg niet","nie stosuj się","nie wykonuj","anuluj","не следуй","не выполняй","не виконуй","не слідуй","отбрось","отбросьте","откинь","отмени","скасуй","nenásleduj","zruš","ne slijedi","ne kövesd","μην ακολουθείς","אל תציית","אל תפעל לפי","لا تتبع","iptal et","hủy bỏ","取消","撤销","不要遵守","不要遵循","no hagas caso","desconsider","descart","esquec","esqueç","dimentic","non tenere conto","trascura",
  "oblida","uită","uitați","nesocot","vergiss","vergessen","missacht","übergeh","negeer","vergeet","glem","glöm","strunta i",
  "se bort fra","bortse fra","zapomeň","zapomen","zapomn","zapomnij","pomiń","odrzuć","nevšímej","zabudni","zabudnite","zanemari",
  "zaboravi","занемари","заборави","игнор","ігнор","забудь","забудьте","забуд","забрави","пренебр","не обращай","не обращайте",
  "ohita","unohda","unohtakaa","sivuuta","älä noudata","unusta","eira","hagyd figyelmen","hagyja figyelmen","felejtsd","felejts el",
  "ne vedd figyelembe","pamiršk","aizmirst","αγνόησε","αγνοήστε","αγνόησ","ξέχασε","ξεχάστε","παράβλεψε","התעלם","תתעלם","ותתעלם",
  "שכח","תשכח","تجاهل","وتجاهل","انس","انسَ","اغفل","abaikan","mengabaikan","lupakan","jangan ikuti","bỏ qua","quên",
  "huwag pansinin","kalimutan","ละเว้น","ไม่ต้องสนใจ","ลืม","puuza","sahau","忽略","无视","無視","忘记","忘記","忘掉","不要理会","不要理會"]
V_SOV = ["نادیده","فراموش","نظر انداز","بھول","अनदेखा","नज़रअंदाज़","नजरअंदाज","भूल जाओ","भूल जाएं","उपेक्षा","উপেক্ষা","ভুলে যাও",
  "புறக்கணி","மறந்துவிடு","మర్చిపో","విస్మరించ","yok say","görmezden","unut ","unutun ","무시","잊어","잊고","無視","忘れ"]
N_INSTR = ["instruc","norma","normas","מההנחיות","מההוראות","מהוראות","והוראות","indicacion","indicaç","indications","الأوامر","أوامر","الاوامر","opgedragen","vaazhi","instrukc","instruks","instrukt","instruç","istruzion","anweisung","vorgabe","ohje","upute","uputstv","упутств",
  "pokyn","polecen","nurodym","utasítás","οδηγί","οδηγι","εντολ","הוראות","ההוראות","מההוראות","הנחיות","ההנחיות","تعليمات",
  "التعليمات","دستور","ہدایات","निर्देश","নির্দেশ","அறிவுறுத்தல","வழிமுறை","సూచన","maagizo","maelekezo","arahan","instruksi",
  "perintah","tagubilin","hướng dẫn","chỉ dẫn","คำสั่ง","talimat","指令","指示","命令","说明","說明","지시","지침","инструкц",
  "інструкц","указани","prompt","промпт","پرامپت","پرامپٹ","प्रॉम्प्ट","প্রম্পট",
  
  "directiv","direttiv","diretriz","richtlijn","richtlinie","riktlinj",
  "consign","indicazion","orientac","wytyczn","smjernic","irányelv","kehote","kehotte","järjestelmäkehot","systemprompt",
  "systeemprompt","rendszerprompt","promptul","systemanweisung"]
N_RULES = ['правил', 'regla', 'règle', 'regole', 'regras', 'reguli', 'regeln', 'regels', 'regler', 'pravidl', 'zasad', 'szabály', 'sääntö', 'säännö', 'kural', 'κανόν', 'כללים', 'قواعد', 'قوانین', 'quy tắc', 'aturan', 'sheria', '규칙', 'ルール', '规则', '規則']
Q_PREV = ["dosavadní","früher","vorherige","من قبل","지금까지","vorangegangen","vorausgegangen","vorstehend","bovenstaand","plus haut","ci-dessus","arriba","sopra","acima","ovan","ovenfor","выше","вище","výše","yukarıdaki","أعلاه","بالا","ऊपर","di atas","ở trên","上面的","위에","прежн","ранее","раніш","колишн","finora","hasta ahora","jusqu ici","bisher","até agora","tot nu toe","dotychczas","до сих пор","dosud","şimdiye kadar","sejauh ini","到目前为止","ricevut","recibid","reçu","erhalten","recebid","ontvangen","otrzyman","полученн","obdržen","aldığın","received","dieron","dado","données","gegeben","date ","dadas","gegeven","podane","данные тебе","verilen","المعطاة","داده شده","दिए गए","diberikan","给你的","받은","与えられた","origin","ursprüngl","oorspronkel","pierwotn","исходн","původní","alkuperäi","eredeti","αρχικ","qualsiasi","qualquer","cualquier","seluruh","toàn bộ","prima ","de antes","d avant","previ","preced","anterior","prior","earlier","above","vorherig","vorige","obig","oben","bisherig","eerder","tidlig",
  "tidigare","forrige","ovenstå","poprzedn","wcześniejsz","powyższ","předchoz","predchádzaj","predošl","prethodn","претходн",
  "предыдущ","предишн","попередн","вышеуказ","önceki","aiemm","edelli","yllä","előző","korábbi","fenti","προηγούμεν","παραπάνω",
  "הקודמות","הקודמים","קודמות","السابقة","السابق","قبلی","پچھلی","پچھلے","पिछले","पिछली","পূর্ববর্তী","আগের","முந்தைய",
  "మునుపటి","awali","sebelumnya","naunang","nakaraang","trước","ก่อนหน้า","ankstesn","iepriekšēj","eelmis","之前","以前","先前",
  "上面","上述","以上","이전","위의","前の","これまで","上記"]
Q_ALL = ["toutes","tous","todas","todos","tutte","tutti","toate","totes","alle","alla","wszystk","všechn","všetk","sve ","svih",
  "все","всі","всички","сва ","свих","tüm","bütün","kaikk","összes","minden","όλες","όλα","όλους","כל ","همه","جميع","كل ",
  "تمام","semua","yote","lahat","सभी","সমস্ত","visas","visus","mọi","tất cả","ทั้งหมด","所有","全部","一切","모든","すべて","全て"]
Q_YOUR = ["tale","tăi","tuas","tuoi","你的","您的","너의","당신의","あなたの","tes ","tus ","tue ","tuoi ","deine","dine ","dina ","je ","jouw","twoje","tvoje","svoje","svoj ","твои","свои","твої",
  "свої","sus ","suas ","tuas ","seine"]
Q_SYS = ["system","systèm","sistem","systém","systeem","järjestelm","rendszer","σύστημ","מערכת","النظام","سیستم","سسٹم","सिस्टम",
  "সিস্টেম","систем","mfumo","系统","系統","시스템","システム","ระบบ","järjestelmäkehot","systemprompt","systeemprompt",
  "rendszerprompt","systemanweisung"]

OVERRIDE = near('''Override in other languages: a verb of ignoring or forgetting, then a word for instructions or
rules and a word for "previous", "all", "your" or "system", in one clause, in any order. Not
after or before a negation ("n'oubliez pas", "vergessen Sie nicht").''', 50,
  [("ignore, forget, disregard, bypass", V_SVO), ("instructions, prompt, rules", N_INSTR), ("previous, all, your, system", Q_PREV+Q_ALL+Q_YOUR+Q_SYS)],
  anchor="first", nots=NEG)
OVERRIDE += near('''A verb of ignoring, then "your rules" or "the system's rules" (previous rules may be a game's).''', 50,
  [("ignore, forget, disregard, bypass", V_SVO), ("rules", N_RULES), ("your, system, safety", Q_YOUR+Q_SYS+["segurid","sécurité","sicurezza","sicherheit","bezpiecz","безопасн","güvenlik","keamanan","安全","안전"])],
  anchor="first", nots=NEG)
OVERRIDE += near('''"Forget everything you were told" in other languages.''', 50,
  [("forget, ignore", V_SVO), ("everything", ["todo lo que","todo lo","tudo o que lhe","tudo o que","tout ce qu","tout ce que","alles was","alles, was","alles wat","tutto quello","tutto ciò","tudo o que",
    "tudo que","wszystko co","wszystko, co","всё что","все что","всё, что","все, що","все що","vše co","všetko čo","sve što","mindent","kaikki mitä",
    "όλα όσα","כל מה","كل ما","همه چیزهایی","सब कुछ","semua yang","segala yang","kila kitu","lahat ng","mọi thứ","her şeyi","一切","所有内容","모든 것","すべて",
    "alt du","allt du","alt hvad","alt som","tot ce"]),
   ("you were told", ["lhe foi dito","foi dito","te dijeron","dijeron","dicho","dit ","gesagt","detto","dito","disseram","gezegd","opgedragen","powiedziano","говорили","сказали","казали",
    "řekli","rečeno","mondtak","kerrottiin","ειπώθηκε","נאמר","قيل","گفته","कहा","dikatakan","diberitahu","uliambiwa","sinabi","được nói","nói với bạn",
    "söylenen","söylendi","告诉你","说过","들은","言われた","spus","fikk beskjed","fick höra","fik at vide","told"])],
  anchor="first", nots=NEG)
OVERRIDE += near('''The same for languages that put the verb last (Turkish, Persian, Hindi, Japanese, Korean, ...).''', 60,
  [("ignore, forget", V_SOV), ("instructions, prompt, rules", N_INSTR+N_RULES), ("previous, all, your, system", Q_PREV+Q_ALL+Q_SYS+["خود","अपने","kendi","너의","あなたの"])],
  anchor="last", nots=NEG)
TELL = ["ne dis pas","ne lui dis","ne le dis","ne dites pas","ne lui dites","no le digas","no digas","no le diga","no informes",
  "non dire","non dirlo","non informare","não diga","não conte","não informe","nu spune","nu-i spune","nu le spune","sag nicht",
  "sage nicht","sagen sie nicht","nichts sagen","nicht mitteilen","niets zeggen","zeg niet","vertel niet","niet vertellen",
  "ikke fortæl","fortæl ikke","ikke si","si ikke","ikke fortell","berätta inte","säg inte","не говори","не сообщай","не говорите",
  "не сообщайте","не кажи","не казвай","не повідомляй","nie mów","nie informuj","nie mówi","nesděl","neříkej","neříkejte","nehovor",
  "nehovorte","ne govori","ne reci","ne recite","ne szólj","ne mondd","ne mondja","ne értesítsd","älä kerro","älkää kertoko",
  "ära ütle","nesakyk","μην πεις","μην πείτε","μην ενημερώσεις","אל תספר","אל תגלה","אל תגיד","אל תודיע","لا تخبر","لا تقل","نگو",
  "اطلاع نده","مت بتاؤ","نہ بتائیں","मत बताओ","मत बताना","न बताएं","বলো না","বলবেন না","சொல்லாதே","usimwambie","usimjulishe",
  "jangan beritahu","jangan memberitahu","jangan kasih tahu","jangan bagitahu","huwag sabihin","đừng nói","không được nói","อย่าบอก",
  "söyleme","haber verme","不要告诉","不要告訴","别告诉","別告訴","알리지 마","알리지 말","말하지 마","말하지 말","言わないで","知らせないで","伝えないで"]
USER = ["utilisateur","usuario","usuário","utente","utilizator","benutzer","nutzer","gebruiker","bruger","bruker","brukar","användar",
  "пользовател","користувач","потребител","корисник","uživatel","užívateľ","użytkownik","korisnik","felhasználó","käyttäjä",
  "kasutaja","vartotoj","χρήστη","χρήστες","משתמש","למשתמש","המשתמש","المستخدم","للمستخدم","کاربر","صارف","उपयोगकर्ता","यूज़र",
  "ব্যবহারকারী","பயனர்","mtumiaji","pengguna","gumagamit","người dùng","ผู้ใช้","kullanıcı","用户","用戶","사용자","ユーザー"]
THIS = ["esta ","este ","esto","cette ","ce ","questa ","questo ","diese","dieser","deze ","ten ","tę ","эту ","этой ","cette instruction","esta instrucción","esta instrução","cela","ceci","ça ","de cette","de ces","esto","eso","de esta","de estas","questo","queste","ciò","isso","isto","disso",
  "desta","asta","despre","davon","dies","darüber","hiervan","hierover","dit ","dette","detta","об этом","это ","этой","этих",
  "про це","цю ","ці ","o tym","tego","tej ","o tom","to ","této","tyto","o ovome","ovo ","ezt","erről","ezekről","tästä","tätä",
  "näistä","αυτό","αυτή","αυτές","זה ","הזו","הזאת","האלה","هذا","هذه","عن هذا","این","اینها","یہ ","اس ","यह ","इस ","इन ",
  "এটা","এই","hili","haya","ini","ito","điều này","này","นี้","bunu","bundan","bu ","这","這","이것","이 ","これ","この"]
OVERRIDE += near('''"Do not tell the user about this" in other languages.''', 60,
  [("do not tell", TELL), ("the user", USER), ("this, about this", THIS)])

V_SHOW = ["affiche","afficher","montre","révèle","répète","muestra","muéstra","revela","repite","imprime","mostra","rivela","ripeti",
  "stampa","mostre","laat ","اكتب","واكتب","écris","escribe","scrivi","schreib","napisz","напиши","exib","zeig","verrat","wiederhol","gib ","toon","laat zien","herhaal","vis ","visa ","skriv ut","upprepa",
  "gentag","pokaż","wypisz","ujawnij","powtórz","zobraz","ukaž","vypiš","prozraď","zopakuj","prikaži","ispiši","otkrij","прикажи",
  "испиши","покажи","выведи","раскрой","повтори","напиши","покажіть","виведи","розкрий","näytä","tulosta","paljasta","toista",
  "mutasd","írd ki","fedd fel","ismételd","εμφάνισε","αποκάλυψε","δείξε","επανάλαβε","הצג","הראה","חשוף","תציג","أظهر","اعرض",
  "اكشف","كرر","onyesha","fichua","tunjukkan","dedahkan","paparkan","ulangi","ipakita","ibunyag","hiển thị","tiết lộ",
  "cho tôi xem","แสดง","เปิดเผย","afișează","arată","dezvăluie","repetă","parodyk","atskleisk","显示","输出","告诉我","打印",
  "透露","重复","顯示","輸出"]
V_SHOW_SOV = ["نمایش","نشان بده","فاش","تکرار","دکھا","ظاہر","दिखा","बताओ","प्रकट","দেখাও","প্রকাশ","காட்டு","வெளிப்படுத்து",
  "göster","açıkla","tekrarla","输出","打印","显示","輸出","顯示","보여","출력","알려","공개","表示","教えて","出力"]
HIDDEN = Q_SYS+["caché","cachée","oculto","nascost","versteckt","geheim","verborgen","dold","skjult","ukryt","skryt","скрыт",
  "прихова","piilo","rejtett","κρυφ","נסתר","مخفی","المخفية","छिपे","initial","inicial","iniziale","ursprünglich","původní",
  "początkow","исходн","початков","alkuperäi","eredeti","αρχικ","המקוריות","الأولية","اولیه","原始","初始","초기","最初の"]
SYSPROMPT = ["system prompt","systemprompt","systeemprompt","rendszerprompt","järjestelmäkehot","prompt de sistema","prompt del sistema",
  "prompt di sistema","prompt do sistema","promptul de sistem","prompt système","prompt du système","prompt systemowy","systémový prompt",
  "systémovou výzvu","systémový prompt","systemowy prompt","системный промпт","системного промпта","системную инструкцию",
  "системные инструкции","системний промпт","системні інструкції","системния промпт","системни промпт","sistemski prompt",
  "sistemsku uputu","sistem istemi","sistem istemini","sistem komutu","sistem komutunu","sistem talimat","sistem istemini","системную подсказку","системная подсказка","системной подсказки","maelekezo ya mfumo",
  "prompt sistem","gesaan sistem","lời nhắc hệ thống","พรอมต์ระบบ","提示词","系统提示词","系統提示詞","系统指令","系統指令",
  "시스템 프롬프트","システムプロンプト","پرامپت سیستم","دستورات سیستم","سسٹم پرامپٹ","सिस्टम प्रॉम्प्ट","সিস্টেম প্রম্পট",
  "موجه النظام","تعليمات النظام","הנחיות המערכת","הנחיית המערכת","הוראות המערכת","μήνυμα συστήματος","οδηγίες συστήματος",
  "instrucciones del sistema","instrucciones de sistema","instructions système","instructions du système","istruzioni di sistema",
  "instruções do sistema","instrucțiunile de sistem","systemanweisung","systeminstruktion","systeeminstructie","instrukcje systemowe",
  "systémové pokyny","järjestelmäohje","rendszerutasítás","instruksi sistem","arahan sistem","hướng dẫn hệ thống","sistem talimatları",
  "instrucciones ocultas","instructions cachées","istruzioni nascoste","instruções ocultas","versteckten anweisungen",
  "geheimen anweisungen","скрытые инструкции","ukryte instrukcje","instrucciones iniciales","instructions initiales",
  "istruzioni iniziali","instruções iniciais","ursprünglichen anweisungen","anfänglichen anweisungen","исходные инструкции",
  "начальные инструкции","początkowe instrukcje","původní pokyny","αρχικές σου οδηγίες","αρχικές οδηγίες","原始指令","初始指令",
  "초기 지시","最初の指示","prompt initial","prompt inicial","prompt iniziale","initialen prompt"]
PROMPT = ["prompt","промпт","پرامپت","پرامپٹ","प्रॉम्प्ट","প্রম্পট","instruc","norma","normas","מההנחיות","מההוראות","מהוראות","והוראות","indicacion","indicaç","indications","الأوامر","أوامر","الاوامر","opgedragen","vaazhi","instrukc","instruks","instrukt","instruç",
  "istruzion","anweisung","pokyn","upute","polecen","инструкц","інструкц","ohje","utasítás","οδηγί","הוראות","ההנחיות","تعليمات",
  "دستور","ہدایات","निर्देश","নির্দেশ","அறிவுறுத்தல","maelekezo","arahan","gesaan","tagubilin","lời nhắc","talimat","istem",
  "提示词","提示詞","指令","指示","프롬프트","지시","지침","プロンプト","kehote","kehotte","užklaus","nurodym",
  "järjestelmäkehot","systemprompt","systeemprompt","rendszerprompt",
  "systemanweisung"]
EXTRACT = near('''Extraction in other languages: show, print or reveal, then the words for the system prompt
(or the hidden or initial instructions), in one clause.''', 60, [("show, print, reveal, repeat", V_SHOW), ("the system prompt, the hidden or initial instructions", SYSPROMPT)],
  anchor="first", nots=NEG)
EXTRACT += near('''The same for languages that put the verb last.''', 60,
  [("show, reveal", V_SHOW_SOV), ("the system prompt, the hidden or initial instructions", SYSPROMPT)], anchor="last", nots=NEG)
EXTRACT += near('''"Show me your instructions" in other languages.''', 40,
  [("show, print, reveal, repeat", V_SHOW), ("your instructions", ["tes instructions","vos instructions","tus instrucciones",
   "sus instrucciones","le tue istruzioni","tue istruzioni","suas instruções","tuas instruções","deine anweisungen","ihre anweisungen",
   "je instructies","jouw instructies","dine instruktioner","dina instruktioner","dine instrukser","twoje instrukcje","tvoje pokyny",
   "svoje pokyny","svoje upute","tvoje upute","свои инструкции","твои инструкции","ваши инструкции","свої інструкції","твої інструкції",
   "ohjeesi","utasításaidat","τις οδηγίες σου","ההוראות שלך","تعليماتك","دستورات خود","instruksi anda","instruksimu","arahan anda",
   "iyong mga tagubilin","hướng dẫn của bạn","talimatlarını","instrucțiunile tale","你的指令","你的指示","너의 지시","あなたの指示"])],
  anchor="first", nots=NEG)

NOW = ["à partir de maintenant","désormais","dorénavant","tu es maintenant","a partir de ahora","de ahora en adelante","ahora eres",
  "da ora in poi","d'ora in poi","d'ora in avanti","da ora in avanti","da adesso","d'ora innanzi","de ahora en más","desde ahora","desde este momento","a partir de este momento","dès maintenant","à partir d'aujourd'hui","ab heute","von jetzt an","od této chvíle","od tej chwili","с сегодняшнего дня","від цього моменту","bu andan itibaren","mulai hari ini","ora sei","a partir de agora","agora você é","de acum înainte","acum ești","ab jetzt","von nun an",
  "ab sofort","du bist jetzt","du bist nun","vanaf nu","je bent nu","fra nå av","fra nu af","du er nå","du er nu","från och med nu",
  "du är nu","с этого момента","отныне","теперь ты","відтепер","тепер ти","от сега нататък","сега си","od teď","od nynějška",
  "teď jsi","od teraz","teraz jesteś","od sada","odsad","sada si","mostantól","tästä lähtien","tästedes","olet nyt","nüüdsest",
  "nuo šiol","από τώρα","από εδώ και πέρα","τώρα είσαι","מעכשיו","מעתה","עכשיו אתה","از این به بعد","از حالا","اکنون تو",
  "من الآن فصاعدا","من الآن","أنت الآن","اب سے","अब से","अब तुम","এখন থেকে","இனிமேல்","mulai sekarang","mulai saat ini",
  "sekarang kamu","sekarang anda","kuanzia sasa","sasa wewe","mula ngayon","ngayon ikaw","từ bây giờ","từ giờ","bây giờ bạn",
  "ตอนนี้คุณ","จากนี้ไป","bundan sonra","bundan böyle","artık sen","从现在开始","從現在開始","现在你是","今後","これから","今からあなた",
  "지금부터","이제부터","이제 너"]
YOU = ["ben je","bist du","ben jij","eres ","es ","êtes","sind sie","jste","ty ","вы ","siz","sen ","sei un","sei una","tu ","tú ","eres","vous ","du ","sei ","você","jij","je bent","du er","du är","ты ","ти ","jesteś","jsi ","jsi,","si ",
  "ești","olet","είσαι","אתה","את ","تو ","أنت","انت","तुम","आप","তুমি","நீ ","kamu","anda","wewe","ikaw","bạn","คุณ","sen ",
  "你","너","당신","あなた","sinä","te ","ön ","szabályaid","nincsenek szabályaid","mày"]
NOLIM = ["senza alcuna censur","senza alcuna restrizion","senza alcun filtr","sin ninguna censur","sans aucune censur","sem nenhuma censur","sem qualquer censur",
  "без всякой цензур","без какой-либо цензур","bez jakékoli cenzur","bez żadnej cenzur","ohne jegliche filter","ohne jegliche einschränkung","ohne jede einschränkung","ohne jegliche zensur","ohne jegliche regeln",
  "sin ninguna restricción","sin ningún límite","sin ningún filtro","sin ninguna regla","sem nenhuma restrição","sem nenhum filtro",
  "sem nenhum limite","sem qualquer restrição","sans aucune restriction","sans aucune limite","sans aucun filtre","sans aucune règle",
  "senza alcuna restrizione","senza alcun limite","senza alcun filtro","bez żadnych ograniczeń","bez jakichkolwiek ograniczeń",
  "bez żadnych zasad","bez żadnych filtrów","без каких-либо ограничений","без всяких ограничений","без жодних обмежень",
  "fără nicio restricție","fără nicio limită","zonder enige beperking","zonder enige regels","uden nogen begrænsninger",
  "utan några begränsningar","uten noen begrensninger","bez jakýchkoli omezení","bez ikakvih ograničenja","minden korlátozás nélkül",
  "ilman mitään rajoituksia","hiçbir kısıtlama","hiçbir sınır","kısıtlaması olmayan","sınırı olmayan","بدون أي قيود","بدون هیچ محدودیتی",
  "tanpa batasan apa pun","tanpa batasan","bila vikwazo vyovyote","walang anumang limitasyon","không có bất kỳ giới hạn",
  "sin restriccion","sin límite","sin limite","sin regla","sin censura","sin filtro","sans restriction","sans limite",
  "sans règle","sans censure","sans filtre","senza restrizion","senza limit","senza regol","senza censur","senza filtr","sem restriç",
  "sem limite","sem regra","sem censura","sem filtro","fără restricți","fără limit","fără reguli","fără cenzur","ohne einschränkung",
  "ohne grenzen","ohne regeln","ohne zensur","ohne filter","ohne beschränkung","uneingeschränkt","zonder beperking","zonder regels",
  "zonder censuur","zonder filter","uden begrænsning","uden regler","uten begrensning","uten regler","utan begränsning","utan regler",
  "utan censur","без огранич","без правил","без цензур","без фильтр","без обмежень","без цензури","bez omezení","bez pravidel",
  "bez cenzury","bez ograniczeń","bez zasad","bez obmedzení","bez ograničenja","bez pravila","bez cenzure","korlátozások nélkül",
  "korlátlan","szabályok nélkül","nincsenek szabály","nincs szabály","cenzúra nélkül","ilman rajoituks","ilman sääntöjä",
  "ilman sensuuri","rajoittamaton","ilma piiranguteta","be apribojim","χωρίς κανόν","χωρίς περιορισμ","χωρίς λογοκρισία","χωρίς όρια",
  "ללא הגבלות","בלי הגבלות","ללא חוקים","בלי חוקים","ללא צנזורה","ללא מגבלות","بدون محدودیت","بدون قانون","بدون سانسور","بلا قيود",
  "بدون قيود","بلا حدود","بدون رقابة","بغیر کسی پابندی","بغیر پابندی","بغیر قواعد","बिना किसी प्रतिबंध","बिना प्रतिबंध",
  "बिना किसी नियम","बिना नियम","কোনো বিধিনিষেধ ছাড়া","নিয়ম ছাড়া","tanpa batas","tanpa aturan","tanpa sekatan","tanpa sensor",
  "tanpa filter","bila vikwazo","bila sheria","bila mipaka","walang limitasyon","walang patakaran","walang restriksyon",
  "không có giới hạn","không giới hạn","không có quy tắc","không kiểm duyệt","ไม่มีข้อจำกัด","ไม่มีกฎ","kısıtlama olmadan",
  "kısıtlamasız","sınırsız","kuralsız","sansürsüz","无限制","没有限制","不受限制","没有任何限制","沒有限制","無限制","不受約束","没有规则",
  "制限なし","制限のない","ルールなし","검열 없","제한 없","제한이 없","규칙 없","규칙이 없"]
JAIL = near('''"From now on you are ... without restrictions" in other languages: "from now on", a word
addressing the model, and "without restrictions" or "uncensored".''', 90,
  [("from now on", NOW), ("you", YOU), ("without restrictions, uncensored", NOLIM)])

IMPORTANT = ["instruction ","instrucción","istruzione","instrução","instructie","instrukcja","инструкция","observação","observación","osservazione","aviso","avviso","avis ","important","importante","wichtig","belangrijk","vigtig","viktig","важно","важлив","důležit","dôležit","ważn","važno",
  "fontos","tärkeä","tähtis","svarb","σημαντικ","חשוב","مهم","ज़रूरी","जरूरी","महत्वपूर्ण","গুরুত্বপূর্ণ","முக்கிய","muhimu","penting",
  "mahalaga","quan trọng","สำคัญ","önemli","重要","중요","note ","notă ","nota ","hinweis","notiz","opmerking","merknad","anteckning",
  "заметка","примечание","poznámka","uwaga","napomena","megjegyzés","huomautus","σημείωση","הערה","ملاحظة","یادداشت","نوٹ","टिप्पणी",
  "নোট","catatan","paalala","ghi chú","หมายเหตุ","注意","참고","message","mensaje","messaggio","mensagem","nachricht","bericht",
  "meddelande","besked","melding","сообщение","повідомлення","zpráva","správa","wiadomość","poruka","üzenet","viesti","μήνυμα","הודעה",
  "رسالة","پیام","پیغام","संदेश","বার্তা","ujumbe","pesan","mensahe","tin nhắn","ข้อความ","mesaj","消息","메시지","メッセージ",
  "attention","atención","attenzione","atenção","atenție","achtung","внимание","увага","pozor","figyelem","huomio","προσοχή",
  "תשומת לב","انتباه","توجه","ध्यान दें","perhatian","chú ý","dikkat"]
AIWORD = ["l ia ","la ia ","a ia ","de ia ","à ia ","l'ia","ia générative","ia generativa","assistant ia","assistant d'ia",
  "asistente de ia","asistente ia","assistente ia","assistente di ia","assistente de ia","asistent ai","asistentul ai",
  "asistentului ai","ki-assistent","ki assistent","ki-modell","ki-agent","ai-assistent","ai assistent","ai-agent",
  "ai asystent","asystent ai","asystenta ai","ai-asistent","ии ","ии-ассистент","ии-агент","искусственн","штучн",
  "tekoäly","mi-asszisztens","ai-asszisztens","mesterséges intelligencia","τεχνητή νοημοσύνη","βοηθό ai","בינה מלאכותית",
  "לבינה","الذكاء الاصطناعي","للذكاء","هوش مصنوعی","مصنوعی ذہانت","एआई","কৃত্রিম বুদ্ধিমত্তা","akili bandia","kecerdasan buatan",
  "asisten ai","pembantu ai","yapay zeka","yapay zekâ","人工智能","人工知能","인공지능","ai 어시스턴트","ai アシスタント","ai助手",
  "ai 助手","llm","chatbot","sprachmodell","modèle de langage","modelo de lenguaje","modello linguistico","языков","model językowy",
  "jazykový model","kielimalli","nyelvi modell","γλωσσικό μοντέλο","מודל שפה","نموذج لغوي","مدل زبانی","dil modeli","语言模型",
  "言語モデル","언어 모델"]
PREP = ["pour","para","per ","für","voor","aan ","til ","dla","pro ","для","за ","към","προς","עבור","אל ","לבינה","برای",
  "به ","إلى","للذكاء","کے لیے","के लिए","को ","জন্য","untuk","kepada","kwa ","para sa","cho ","gửi","ถึง","สำหรับ","için","pentru",
  "către","给","給","致","에게","께","へ","宛","tekoälylle","tekoälyavustajalle","számára","részére"]
ADDR = near('''"Important note for the AI" in other languages: a word of importance, a word for "for" or
"to" and a word for an AI (not a human assistant), standing together as in a heading.''', 40,
  [("important, note, message, attention", IMPORTANT), ("for, to (English is left to the patterns above)", PREP), ("an AI", AIWORD)])


VOCATIVE = ["querido","querida","estimado","estimada","cher ","chère","chers","liebe ","lieber","caro ","cara ","gentile","prezado",
  "prezada","beste","drogi","droga","drodzy","milý","milá","vážený","vážená","уважаем","дорогой","дорогая","шановн","sevgili","sayın",
  "عزيزي","عزيزتي","亲爱的","親愛的","kedves","αγαπητ","प्रिय","dragă","dragi","hei ","hej ","hola","bonjour","salut","hallo","ciao",
  "olá","cześć","ahoj","привет","здравствуй","merhaba","مرحبا","你好","안녕","hai ","halo","xin chào","gửi","γεια","שלום","नमस्ते",
  "pour l ia","pour les ia","para la ia","para a ia","für die ki","per l ia","dla ai","لبينة"]
AIVOC = AIWORD+["ai ","ia ","ki ","mi ","ии ","нейросет","нейромереж","yapay zeka","tekoäly","umělá inteligence","assistente virtuale",
  "asistente virtual","assistant virtuel","virtueller assistent","asistente automático","assistant automatique","المساعد الذكي",
  "modelo de linguagem","modelo de lenguaje","AI助手","ai 비서","aiアシスタント","trợ lý ai","asisten ai","asystencie","bot "]
RESTR = ["restriccion","restrictions","einschränkung","restrizion","restriç","ограничени","обмежен","zabezpiecz","ograniczen","omezen",
  "korlátoz","rajoitu","περιορισμ","הגבלות","قيود","محدودیت","प्रतिबंध","batasan","giới hạn","kısıtlama","限制","제한","制限","设定",
  "設定","sicherheitsregeln","salvaguard","garde-fou","zabezpečen"]
VOCVERB = ["trek je niets aan","ne prenez pas en compte","ne prends pas en compte","non seguire","non rispettare","lass ","ne törődj",
  "jätä","přestaň","prestaň","припини","перестань","σταμάτα","jangan lagi","đừng làm theo","छोड़ दो","لا تلتزم","不要再遵守","不再遵守",
  "破棄","boş ver","کنار بگذار","não siga","deixe de lado","no sigas","deja de lado","hör auf","stop met","sluta följa","slutt å følge"]
VOCQ = Q_PREV+Q_YOUR+USER+["dosavadní","früher","पहले","من قبل","지금까지","swoje","suas","seus","vos ","votre","ihre","dell utente",
  "del usuario","do usuário","de l utilisateur","des nutzers","des benutzers","kullanıcının","người dùng"]
ADDR += near('''A salutation to an AI ("Dear AI", "Hei tekoäly", "亲爱的AI助手") followed in the next sentence by
a verb of ignoring or no longer following and its instructions, rules or restrictions: a
document or message speaking to the model that reads it. The verb is the first group, so a
negation next to it cancels ("Hola IA, no olvides las reglas").''', 150,
  [("ignore, forget, stop following", V_SVO+V_SOV+VOCVERB), ("dear, hello, to", VOCATIVE), ("an AI", AIVOC),
   ("instructions, rules, restrictions", N_INSTR+N_RULES+RESTR)], nots=NEG, clause=False)

V_SEND = ["envía","envia","envíe","reenvía","reenvia","envoie","envoyez","transfère","transférez","schick","sende","senden sie","leite",
  "invia","inoltra","inviate","envie","encaminhe","reencaminhe","stuur","verstuur","wyślij","prześlij","отправь","отправьте","перешли",
  "перешлите","надішли","перешли","відправ","pošli","přepošli","pošlite","pošalji","proslijedi","küldd","továbbítsd","lähetä",
  "välitä","στείλε","προώθησε","שלח","העבר","أرسل","ارسل","حوّل","بفرست","ارسال کن","भेजो","भेजें","kirim","kirimkan","teruskan",
  "tuma","ipadala","gửi","chuyển tiếp","ส่ง","gönder","ilet","trimite","redirecționează","发送","转发","發送","轉發","보내","전달",
  "送信","転送","sube","téléverse","carica","lade","prześlij"]
EXDATA = ["historial de chat","historial del chat","historial de la conversación","historial de conversaciones","historique de la conversation",
  "historique des conversations","historique du chat","chatverlauf","gesprächsverlauf","cronologia della chat","cronologia delle conversazioni",
  "histórico da conversa","histórico do chat","histórico de conversas","chatgeschiedenis","gespreksgeschiedenis","historię czatu",
  "historię rozmów","историю чата","историю переписки","историю разговора","історію чату","історію листування","historii chatu",
  "historii konverzace","sohbet geçmiş","سجل المحادثة","سجل الدردشة","تاریخچه چت","تاریخچه گفتگو","चैट इतिहास","riwayat obrolan",
  "riwayat percakapan","lịch sử trò chuyện","聊天记录","聊天記錄","对话历史","對話歷史","대화 기록","채팅 기록","チャット履歴","会話履歴","contraseñ","mot de passe","mots de passe","passwort",
  "passwörter","kennwort","password","senha","wachtwoord","hasło","hasła","haseł","пароль","пароли","паролі","heslo","hesla","lozink",
  "jelszó","jelszav","salasana","κωδικ","סיסמ","كلمة المرور","كلمات المرور","رمز عبور","पासवर्ड","kata sandi","nywila","mật khẩu",
  "รหัสผ่าน","şifre","parola","parolele","密码","密碼","비밀번호","パスワード","conversación","conversaciones","conversation","unterhaltung",
  "gespräch","chatverlauf","conversazione","conversa","gesprek","rozmow","переписк","разговор","розмов","листуван","konverzac",
  "beszélgetés","keskustelu","συνομιλ","שיחה","השיחה","محادثة","المحادثة","مکالمه","گفتگو","बातचीत","percakapan","mazungumzo",
  "usapan","cuộc trò chuyện","การสนทนา","sohbet","conversați","对话","對話","聊天记录","대화","会話","credencial","identifiants",
  "zugangsdaten","anmeldedaten","credenziali","credenciais","inloggegevens","dane logowania","учетные данные","облікові дані",
  "přihlašovací údaje","bejelentkezési adat","kirjautumistied","بيانات الاعتماد","اطلاعات ورود","लॉगिन","kredensial","thông tin đăng nhập",
  "giriş bilgileri","datele de autentificare","登录信息","로그인 정보","ログイン情報","api key","api-key","clé api","clave api","chiave api",
  "token","jeton","токен","prompt","промпт","données de l'utilisateur","datos del usuario","benutzerdaten","nutzerdaten","dati dell'utente",
  "dados do usuário","gebruikersgegevens","dane użytkownika","данные пользователя","дані користувача","data pengguna","用户数据","사용자 데이터",
  "e-mails des nutzers","e-mails des benutzers","correos del usuario","emails de l'utilisateur","documents de l'utilisateur",
  "documentos del usuario","arquivos dele","archivos del usuario","dateien des nutzers"]
EXDEST = ["a este correo","a esta dirección","a este enlace","a esta url","a este servidor","à cette adresse","à ce lien","à l'adresse suivante",
  "vers cette adresse","vers ce serveur","an diese adresse","an folgende adresse","an diese e-mail","an diesen server","a questo indirizzo",
  "a questa email","a questo link","para este e-mail","para este endereço","para este link","naar dit adres","naar dit e-mailadres",
  "naar deze url","na ten adres","na adres","na ten serwer","на этот адрес","на эту почту","на адрес","на этот сервер","на цю адресу",
  "на адресу","na tuto adresu","na adresu","na ovu adresu","erre a címre","tähän osoitteeseen","osoitteeseen","σε αυτή τη διεύθυνση",
  "לכתובת הזו","לכתובת","إلى هذا العنوان","إلى العنوان","به این آدرس","به آدرس","इस पते पर","ke alamat","kwa anwani","sa address na ito",
  "đến địa chỉ","ไปยังที่อยู่","bu adrese","şu adrese","la această adresă","la adresa","发送到","发到","到这个地址","到以下地址","이 주소로",
  "このアドレス","http","https","www"]
EXFIL = near('''Exfiltration in other languages: send or forward, then the conversation, passwords,
credentials, keys or the user's data, then "to this address" or a link.''', 90,
  [("send, forward, upload", V_SEND), ("conversation, passwords, credentials, user data", EXDATA), ("to this address, a link", EXDEST)],
  anchor="first", nots=NEG)

def insert_after_rule(s, rule_id, block):
    i = s.index('id = "%s"' % rule_id)
    j = s.find('\n[[rule]]', i)
    if j == -1: j = len(s)
    return s[:j].rstrip('\n') + '\n' + block + s[j:]

s = insert_after_rule(s, 'injection.override', OVERRIDE)
s = insert_after_rule(s, 'injection.prompt_extraction', EXTRACT)
s = insert_after_rule(s, 'injection.jailbreak', JAIL)
s = insert_after_rule(s, 'injection.addressed_to_ai', ADDR)
s = insert_after_rule(s, 'injection.exfiltration', EXFIL)
# without-the-user's-knowledge phrases, in override
if "à l'insu de l'utilisateur" not in s:
  s = s.replace('''  "ignorer tidligere instruksjoner",''','''  # Without the user's knowledge
  "à l'insu de l'utilisateur", "sans que l'utilisateur le sache", "sin que el usuario lo sepa", "sin conocimiento del usuario",
  "senza che l'utente lo sappia", "sem que o usuário saiba", "sem o conhecimento do usuário", "fără știrea utilizatorului",
  "ohne wissen des benutzers", "ohne dass der benutzer es merkt", "ohne dass der nutzer es merkt", "zonder medeweten van de gebruiker",
  "uden brugerens viden", "uten brukerens viten", "utan användarens vetskap", "без ведома пользователя", "втайне от пользователя",
  "без відома користувача", "bez wiedzy użytkownika", "bez vědomí uživatele", "bez znanja korisnika", "a felhasználó tudta nélkül",
  "käyttäjän tietämättä", "εν αγνοία του χρήστη", "ללא ידיעת המשתמש", "בלי ידיעת המשתמש", "دون علم المستخدم", "بدون اطلاع کاربر",
  "صارف کو بتائے بغیر", "उपयोगकर्ता को बताए बिना", "tanpa sepengetahuan pengguna", "bila mtumiaji kujua", "nang hindi alam ng user",
  "mà người dùng không biết", "kullanıcının haberi olmadan", "在用户不知情", "在用戶不知情", "不让用户知道", "ユーザーに知られずに",
  "ignorer tidligere instruksjoner",''')
if 'near      -' not in s:
  s = s.replace('''#   phrases   - literal phrases in any language, folded like the text at load; a phrase must
#               start at a word start and may end inside a word (so a stem matches inflections).''','''#   phrases   - literal phrases in any language, folded like the text at load; a phrase must
#               start at a word start and may end inside a word (so a stem matches inflections).
#   near      - [[rule.near]] tables, for languages whose word order and endings a phrase cannot
#               follow: `groups` of stems (folded like phrases, each starting a word; one written
#               with a trailing space must be a whole word), one stem of every group within
#               `within` characters (default 80) and one clause; `anchor` = "first" or "last"
#               puts the first group's stem before or after the others; a `not` stem at most
#               10 characters before or 12 after that stem cancels it (negations); with
#               `clause = false` the stems may stand in different sentences.
#               The built-in tables are written by scripts/gen_injection_near.py.''')
p.write_text(s.rstrip('\n') + '\n')
