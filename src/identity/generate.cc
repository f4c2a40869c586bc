#include "identity/generate.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace identity {
namespace internal {
extern const char kNicknamesTsv[];
extern const std::size_t kNicknamesTsvSize;
}  // namespace internal

namespace {

// ---------------------------------------------------------------------------------------------
// Randomness: splitmix64 and distributions written here, so that a seed gives the same output
// on every platform and standard library.

uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(Mix(seed)) {}
  uint64_t Next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0. The modulo bias (below n / 2^64) is negligible here.
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
  // Uniform in [0, 1), exactly representable.
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Unit() < p; }
  // Skewed towards small indexes like real name frequencies: density falls from about
  // 1 / (0.25 n) at index 0 to 1 / (1.75 n) at the end.
  size_t Skewed(size_t n) {
    double u = Unit();
    return std::min(n - 1, static_cast<size_t>(static_cast<double>(n) * u * (0.25 + 0.75 * u)));
  }
  // An index drawn with the given integer weights.
  size_t Weighted(std::span<const uint32_t> weights) {
    uint64_t total = 0;
    for (uint32_t w : weights) total += w;
    uint64_t x = Below(total);
    for (size_t i = 0; i < weights.size(); ++i) {
      if (x < weights[i]) return i;
      x -= weights[i];
    }
    return weights.size() - 1;
  }
  template <typename T>
  const T& Pick(std::span<const T> items) {
    return items[Below(items.size())];
  }

 private:
  uint64_t state_;
};

// ---------------------------------------------------------------------------------------------
// Built-in lists. Written for onedoor from general knowledge; no external data.
//
// A name is one or more written forms of the same name, separated by '|'. The first form is
// the one an original record uses most; where it is in another script (Cyrillic, Greek, Han)
// the Latin spellings follow. A duplicate with the transliteration corruption uses another
// form.

// English given names beyond the nickname table's canonical names (which are added too).
constexpr std::string_view kEnglishGiven[] = {
    "aaron",   "adam",   "aidan",   "alan",   "alison", "amber",   "amy",     "andrea", "ashley",
    "audrey",  "blake",  "brandon", "brenda", "brian",  "bruce",   "caleb",   "carl",   "chloe",
    "claire",  "colin",  "craig",   "dale",   "darren", "dean",    "derek",   "dylan",  "ellie",
    "ethan",   "evelyn", "fiona",   "gary",   "gemma",  "glenn",   "grace",   "hannah", "hayley",
    "heather", "holly",  "ian",     "jade",   "jamie",  "jasmine", "jason",   "jordan", "joyce",
    "karen",   "kayla",  "keith",   "kelly",  "kevin",  "kyle",    "laura",   "lauren", "liam",
    "lily",    "lisa",   "logan",   "luke",   "mason",  "megan",   "mia",     "molly",  "natalie",
    "neil",    "noah",   "paige",   "paul",   "riley",  "ruby",    "russell", "ryan",   "scott",
    "sean",    "shane",  "sophie",  "stacey", "tara",   "tayla",   "tegan",   "troy",   "tyler",
    "wayne",   "zoe",    "brooke",  "jesse",  "joel",   "kate",    "mark"};
constexpr std::string_view kEnglishFamily[] = {
    "smith",     "jones",    "williams", "brown",      "wilson",   "taylor",    "johnson",
    "white",     "martin",   "anderson", "thompson",   "thomas",   "walker",    "harris",
    "lee",       "ryan",     "robinson", "kelly",      "king",     "davis",     "wright",
    "evans",     "roberts",  "green",    "hall",       "wood",     "jackson",   "clarke",
    "patel",     "khan",     "lewis",    "james",      "phillips", "mason",     "mitchell",
    "rose",      "davies",   "rodgers",  "campbell",   "hughes",   "edwards",   "hill",
    "moore",     "clark",    "harrison", "scott",      "young",    "morris",    "cooper",
    "ward",      "turner",   "baker",    "carter",     "collins",  "stewart",   "morgan",
    "bell",      "murphy",   "graham",   "cook",       "richards", "watson",    "parker",
    "bennett",   "gray",     "kennedy",  "ross",       "russell",  "shaw",      "price",
    "webb",      "powell",   "lloyd",    "hunt",       "palmer",   "holmes",    "mills",
    "barnes",    "knight",   "butler",   "fisher",     "fox",      "ellis",     "reid",
    "marshall",  "simpson",  "murray",   "stone",      "gibson",   "chapman",   "wallace",
    "hamilton",  "fletcher", "harvey",   "porter",     "rogers",   "black",     "dixon",
    "burns",     "crawford", "matthews", "hudson",     "lawson",   "nolan",     "sullivan",
    "obrien",    "mcdonald", "macleod",  "fitzgerald", "doherty",  "byrne",     "quinn",
    "gallagher", "brennan",  "mccarthy", "oconnor",    "donnelly", "lynch",     "walsh",
    "fraser",    "sinclair", "buchanan", "cameron",    "ferguson", "henderson", "mackenzie"};
constexpr std::string_view kHispanicGiven[] = {
    "jose",      "juan",    "carlos",   "luis",      "miguel",  "jorge",   "pedro",
    "alejandro", "diego",   "fernando", "javier",    "pablo",   "ricardo", "santiago",
    "mateo",     "sofia",   "lucia",    "valentina", "camila",  "isabel",  "carmen",
    "rosa",      "ana",     "elena",    "gabriela",  "mariana", "paula",   "ximena",
    "guadalupe", "dolores", "raul",     "ramon",     "ignacio", "esteban"};
constexpr std::string_view kHispanicFamily[] = {
    "garcia",  "rodriguez", "martinez", "hernandez", "lopez",     "gonzalez", "perez",
    "sanchez", "ramirez",   "torres",   "flores",    "rivera",    "gomez",    "diaz",
    "morales", "reyes",     "cruz",     "ortiz",     "gutierrez", "chavez",   "ramos",
    "ruiz",    "alvarez",   "mendoza",  "vasquez",   "castillo",  "jimenez",  "moreno",
    "romero",  "herrera",   "medina",   "aguilar",   "vargas",    "castro",   "fernandez",
    "navarro", "dominguez", "guerrero", "delgado",   "iglesias"};
constexpr std::string_view kGermanGiven[] = {
    "hans",       "jurgen",    "klaus",     "wolfgang", "dieter", "stefan",    "lukas",
    "maximilian", "felix",     "jonas",     "leon",     "paul",   "anna",      "lena",
    "marie",      "katharina", "sabine",    "ursula",   "monika", "petra",     "heike",
    "birgit",     "greta",     "hannelore", "uwe",      "helmut", "friedrich", "gunther"};
constexpr std::string_view kGermanFamily[] = {
    "muller",   "schmidt",  "schneider", "fischer",    "weber",  "meyer",   "wagner",  "becker",
    "schulz",   "hoffmann", "schafer",   "koch",       "bauer",  "richter", "klein",   "wolf",
    "schroder", "neumann",  "schwarz",   "zimmermann", "braun",  "kruger",  "hofmann", "hartmann",
    "lange",    "schmitt",  "werner",    "krause",     "meier",  "lehmann", "schmid",  "schulze",
    "maier",    "kohler",   "herrmann",  "konig",      "walter", "mayer",   "huber",   "kaiser"};
constexpr std::string_view kFrenchGiven[] = {
    "jean",     "pierre",   "michel",  "philippe", "alain",   "nicolas", "francois",
    "laurent",  "olivier",  "julien",  "antoine",  "mathieu", "sylvie",  "nathalie",
    "isabelle", "sandrine", "celine",  "aurelie",  "camille", "manon",   "chloe",
    "amelie",   "juliette", "margaux", "yves",     "thierry"};
constexpr std::string_view kFrenchFamily[] = {
    "martin",   "bernard", "dubois",  "thomas",   "robert",   "richard", "petit",    "durand",
    "leroy",    "moreau",  "simon",   "laurent",  "lefebvre", "michel",  "garnier",  "faure",
    "rousseau", "blanc",   "guerin",  "muller",   "henry",    "roussel", "nicolas",  "perrin",
    "morin",    "mathieu", "clement", "gauthier", "dumont",   "lopez",   "fontaine", "chevalier"};
constexpr std::string_view kItalianGiven[] = {
    "giuseppe", "giovanni",  "antonio",   "mario",      "luigi",   "francesco", "angelo",
    "vincenzo", "salvatore", "marco",     "alessandro", "lorenzo", "matteo",    "andrea",
    "giulia",   "chiara",    "francesca", "federica",   "alessia", "martina",   "giorgia",
    "rosaria",  "concetta",  "carmela",   "luca",       "stefano"};
constexpr std::string_view kItalianFamily[] = {
    "rossi",   "russo",   "ferrari",  "esposito", "bianchi",    "romano",  "colombo",
    "ricci",   "marino",  "greco",    "bruno",    "gallo",      "conti",   "deluca",
    "mancini", "costa",   "giordano", "rizzo",    "lombardi",   "moretti", "barbieri",
    "fontana", "santoro", "mariani",  "rinaldi",  "caruso",     "ferrara", "galli",
    "martini", "leone",   "longo",    "gentile",  "martinelli", "vitale",  "lombardo"};
constexpr std::string_view kPolishGiven[] = {
    "piotr",    "krzysztof", "andrzej",  "tomasz",    "pawel",      "marcin", "michal",
    "grzegorz", "jakub",     "wojciech", "agnieszka", "malgorzata", "joanna", "katarzyna",
    "ewa",      "magdalena", "zofia",    "barbara",   "dorota",     "jadwiga"};
constexpr std::string_view kPolishFamily[] = {
    "nowak",       "kowalski",  "wisniewski", "wojcik",    "kowalczyk",  "kaminski",  "lewandowski",
    "zielinski",   "szymanski", "wozniak",    "dabrowski", "kozlowski",  "jankowski", "mazur",
    "kwiatkowski", "krawczyk",  "piotrowski", "grabowski", "nowakowski", "pawlowski", "michalski",
    "nowicki",     "adamczyk",  "dudek",      "zajac"};
// Cyrillic originals with their usual Latin spellings.
constexpr std::string_view kRussianGiven[] = {"Александр|aleksandr|alexander|alexandr",
                                              "Сергей|sergei|sergey|sergej",
                                              "Дмитрий|dmitri|dmitry|dmitrii",
                                              "Андрей|andrei|andrey|andrej",
                                              "Алексей|aleksei|alexey|alexei",
                                              "Иван|ivan",
                                              "Михаил|mikhail|michail|mihail",
                                              "Николай|nikolai|nikolay",
                                              "Владимир|vladimir|wladimir",
                                              "Евгений|evgeny|yevgeniy|evgenii",
                                              "Юрий|yuri|yury|iurii",
                                              "Олег|oleg",
                                              "Игорь|igor",
                                              "Павел|pavel",
                                              "Наталья|natalya|natalia|natalja",
                                              "Елена|elena|yelena",
                                              "Ольга|olga",
                                              "Татьяна|tatyana|tatiana|tatjana",
                                              "Ирина|irina",
                                              "Светлана|svetlana",
                                              "Екатерина|ekaterina|yekaterina|katerina",
                                              "Мария|maria|mariya",
                                              "Анна|anna",
                                              "Юлия|yulia|yuliya|julia",
                                              "Ксения|ksenia|kseniya|xenia",
                                              "Людмила|lyudmila|ludmila|liudmila"};
constexpr std::string_view kRussianFamily[] = {"Иванов|ivanov",
                                               "Смирнов|smirnov",
                                               "Кузнецов|kuznetsov|kuznecov",
                                               "Попов|popov",
                                               "Васильев|vasiliev|vasilyev|wassiljew",
                                               "Петров|petrov",
                                               "Соколов|sokolov",
                                               "Михайлов|mikhailov|mihailov",
                                               "Новиков|novikov",
                                               "Фёдоров|fedorov|fyodorov",
                                               "Морозов|morozov",
                                               "Волков|volkov",
                                               "Алексеев|alekseev|alexeev",
                                               "Лебедев|lebedev",
                                               "Семёнов|semenov|semyonov",
                                               "Егоров|egorov|yegorov",
                                               "Павлов|pavlov",
                                               "Козлов|kozlov",
                                               "Степанов|stepanov",
                                               "Николаев|nikolaev|nikolayev",
                                               "Орлов|orlov",
                                               "Андреев|andreev|andreyev",
                                               "Макаров|makarov",
                                               "Никитин|nikitin",
                                               "Захаров|zakharov|zaharov",
                                               "Зайцев|zaitsev|zaytsev",
                                               "Соловьёв|solovyov|soloviev",
                                               "Борисов|borisov",
                                               "Яковлев|yakovlev|jakovlev",
                                               "Григорьев|grigoriev|grigoryev",
                                               "Шевченко|shevchenko|sevcenko",
                                               "Бондаренко|bondarenko"};
constexpr std::string_view kGreekGiven[] = {"Γεώργιος|georgios|yiorgos|giorgos",
                                            "Δημήτριος|dimitrios|demetrios",
                                            "Κωνσταντίνος|konstantinos|constantinos|kostantinos",
                                            "Ιωάννης|ioannis|yiannis|giannis",
                                            "Νικόλαος|nikolaos|nicholas",
                                            "Παναγιώτης|panagiotis|panayiotis",
                                            "Χρήστος|christos|hristos",
                                            "Βασίλειος|vasileios|vasilios|vassilis",
                                            "Μαρία|maria",
                                            "Ελένη|eleni|helen",
                                            "Αικατερίνη|aikaterini|ekaterini|katerina",
                                            "Βασιλική|vasiliki|vassiliki",
                                            "Σοφία|sofia|sophia",
                                            "Αγγελική|angeliki|aggeliki",
                                            "Δέσποινα|despoina|despina",
                                            "Ευαγγελία|evangelia|evaggelia"};
constexpr std::string_view kGreekFamily[] = {"Παπαδόπουλος|papadopoulos|papadopoulous",
                                             "Παπαδάκης|papadakis",
                                             "Γεωργίου|georgiou|yiorgiou",
                                             "Οικονόμου|oikonomou|economou",
                                             "Παπαγεωργίου|papageorgiou",
                                             "Βασιλείου|vasileiou|vassiliou",
                                             "Νικολάου|nikolaou|nicolaou",
                                             "Ιωάννου|ioannou",
                                             "Κωνσταντίνου|konstantinou|constantinou",
                                             "Δημητρίου|dimitriou|demetriou",
                                             "Αντωνίου|antoniou",
                                             "Μακρής|makris|macris",
                                             "Αλεξίου|alexiou|aleksiou",
                                             "Καραγιάννης|karagiannis|karayiannis",
                                             "Χριστοδούλου|christodoulou|hristodoulou",
                                             "Πετρίδης|petridis",
                                             "Αθανασίου|athanasiou",
                                             "Σταυρόπουλος|stavropoulos",
                                             "Λαμπράκης|labrakis|lambrakis",
                                             "Ζαχαρίου|zachariou|zahariou"};
// Han originals with pinyin (written joined, spaced or hyphenated) and older spellings.
constexpr std::string_view kChineseGiven[] = {"小明|xiaoming|xiao ming|hsiao-ming",
                                              "伟|wei",
                                              "芳|fang",
                                              "娜|na",
                                              "秀英|xiuying|xiu ying|hsiu-ying",
                                              "敏|min",
                                              "静|jing|ching",
                                              "丽|li",
                                              "强|qiang|chiang",
                                              "磊|lei",
                                              "军|jun|chun",
                                              "洋|yang",
                                              "勇|yong|yung",
                                              "艳|yan",
                                              "杰|jie|chieh",
                                              "娟|juan|chuan",
                                              "涛|tao|tao",
                                              "明|ming",
                                              "超|chao",
                                              "秀兰|xiulan|xiu lan|hsiu-lan",
                                              "霞|xia|hsia",
                                              "平|ping",
                                              "刚|gang|kang",
                                              "桂英|guiying|gui ying|kuei-ying",
                                              "建国|jianguo|jian guo|chien-kuo",
                                              "志强|zhiqiang|zhi qiang|chih-chiang"};
constexpr std::string_view kChineseFamily[] = {
    "王|wang",        "李|li|lee",      "张|zhang|chang", "刘|liu",       "陈|chen|chan",
    "杨|yang|young",  "黄|huang|wong",  "赵|zhao|chao",   "吴|wu|ng",     "周|zhou|chou",
    "徐|xu|hsu",      "孙|sun",         "马|ma",          "朱|zhu|chu",   "胡|hu|hoo",
    "郭|guo|kuo",     "何|he|ho",       "高|gao|kao",     "林|lin|lam",   "罗|luo|lo",
    "郑|zheng|cheng", "梁|liang|leung", "谢|xie|hsieh",   "宋|song|sung", "唐|tang|tong",
    "许|xu|hui",      "韩|han|hon",     "冯|feng|fung",   "邓|deng|tang", "曹|cao|tsao"};
constexpr std::string_view kVietnameseGiven[] = {
    "anh",  "binh",   "cuong", "duc",   "dung", "hai",   "hanh", "hieu", "hoa",
    "hung", "huong",  "khanh", "lan",   "linh", "long",  "mai",  "minh", "nam",
    "ngoc", "phuong", "quang", "thanh", "thao", "trang", "tuan", "van"};
constexpr std::string_view kVietnameseFamily[] = {
    "nguyen", "tran", "le", "pham", "huynh|hoang", "phan", "vu|vo",  "dang",
    "bui",    "do",   "ho", "ngo",  "duong",       "ly",   "truong", "dinh"};
constexpr std::string_view kIndianGiven[] = {"aarav",
                                             "arjun",
                                             "rahul",
                                             "rohan",
                                             "vikram",
                                             "amit",
                                             "sanjay",
                                             "rajesh",
                                             "suresh",
                                             "anil",
                                             "deepak",
                                             "ravi",
                                             "vijay",
                                             "arun",
                                             "priya",
                                             "ananya",
                                             "kavya",
                                             "lakshmi",
                                             "sunita",
                                             "pooja",
                                             "neha",
                                             "divya",
                                             "meera",
                                             "anjali",
                                             "shreya",
                                             "gurpreet|gurprit",
                                             "harpreet|harprit",
                                             "manpreet|manprit"};
constexpr std::string_view kIndianFamily[] = {
    "sharma",   "singh",      "kumar",     "gupta",        "patel",
    "shah",     "mehta",      "reddy",     "nair",         "iyer",
    "rao",      "joshi",      "desai",     "verma",        "mishra",
    "pillai",   "chopra",     "kapoor",    "malhotra",     "agarwal",
    "banerjee", "chatterjee", "mukherjee", "bhattacharya", "das",
    "ghosh",    "menon",      "krishnan",  "subramanian",  "choudhury|chaudhary|chowdhury"};
// Arabic names in the several Latin spellings they are commonly registered under.
constexpr std::string_view kArabicGiven[] = {"mohammed|muhammad|mohamed|mohammad",
                                             "ahmed|ahmad",
                                             "ali",
                                             "omar|umar",
                                             "hassan|hasan",
                                             "hussein|husain|hussain",
                                             "ibrahim|ebrahim",
                                             "khalid|khaled",
                                             "youssef|yusuf|yousef",
                                             "abdullah|abdallah",
                                             "mustafa|mostafa",
                                             "tariq|tarek|tareq",
                                             "karim|kareem",
                                             "fatima|fatma|fatimah",
                                             "aisha|ayesha|aysha",
                                             "mariam|maryam|miriam",
                                             "zainab|zaynab|zeinab",
                                             "layla|leila|laila",
                                             "noor|nour|nur",
                                             "amira|ameera",
                                             "yasmin|yasmeen|jasmin",
                                             "huda|houda"};
constexpr std::string_view kArabicFamily[] = {"haddad",
                                              "khoury|khouri|khuri",
                                              "nasser|nasir|naser",
                                              "saleh|salih",
                                              "hamdan",
                                              "abboud|aboud",
                                              "mansour|mansur",
                                              "darwish|dervish",
                                              "aziz",
                                              "rahman|rehman",
                                              "hussein|husain",
                                              "karam",
                                              "farah",
                                              "said|saeed|sayed",
                                              "qureshi|kureshi",
                                              "yousef|youssef|yusuf",
                                              "abdallah|abdullah",
                                              "el-amin|elamin|al amin",
                                              "bakr|bakir",
                                              "jaber|jabir"};
constexpr std::string_view kNordicGiven[] = {
    "lars",   "anders", "erik",   "nils",  "sven",  "bjorn",  "magnus",  "henrik", "ole",
    "astrid", "ingrid", "sigrid", "freya", "karin", "linnea", "solveig", "maja"};
constexpr std::string_view kNordicFamily[] = {
    "hansen",    "johansen",    "olsen",   "larsen",   "andersen",   "pedersen",
    "nilsen",    "kristiansen", "jensen",  "karlsson", "nilsson",    "eriksson",
    "larsson",   "olsson",      "persson", "svensson", "gustafsson", "lindberg",
    "lindqvist", "berg",        "haugen",  "virtanen", "korhonen",   "makinen"};

// Family names composed from a root and a suffix, for a long tail of rarer names.
constexpr std::string_view kFamilyRoots[] = {
    "ash",   "black", "brad",  "brook", "cald",  "clay",  "cran", "dal",  "east", "fair",
    "field", "ford",  "glen",  "gold",  "green", "hart",  "hay",  "high", "holl", "kings",
    "lang",  "lind",  "marsh", "mid",   "mor",   "north", "oak",  "pen",  "red",  "ridge",
    "ros",   "sand",  "shel",  "stan",  "stock", "thorn", "wal",  "west", "whit", "win",
    "wood",  "york",  "brom",  "cart",  "dun",   "elm",   "fen",  "hal"};
constexpr std::string_view kFamilySuffixes[] = {
    "ley",   "ton",    "well", "field", "worth", "by",    "ham",  "wood", "more",
    "stone", "bridge", "dale", "ford",  "hurst", "brook", "mann", "berg", "ridge"};

// The long tail. In a real population a few hundred family names are common, but a large share
// of people carry names that few others have; a generator drawing only from lists of common
// names makes far too many namesakes. Tail names are built from syllables with an ending typical
// of the culture (about 3,000 syllables, 260 short ones and a dozen endings per culture: millions
// of names, pronounceable, most of them rare).
constexpr std::string_view kOnsets[] = {"b",  "br", "c", "ch", "d",  "dr", "f",  "g", "gr",
                                        "h",  "j",  "k", "l",  "m",  "n",  "p",  "pr", "r",
                                        "s",  "sh", "st", "t", "tr", "v",  "w",  "z"};
constexpr std::string_view kVowels[] = {"a", "e", "i", "o", "u", "ai", "ea", "ie", "ou", "y"};
constexpr std::string_view kCodas[] = {"", "n", "r", "l", "s", "t", "m", "nd", "rt", "ck", "ll", "ng"};
struct TailEndings {
  std::string_view culture;
  std::string_view family[12];  // "" ends the list
  std::string_view given[8];
};
constexpr TailEndings kTailEndings[] = {
    {"english",
     {"ley", "ton", "well", "field", "worth", "by", "ham", "wood", "more", "son", "er", "s"},
     {"a", "ie", "y", "el", "en", "in", "er", "on"}},
    {"german", {"mann", "berg", "er", "stein", "feld", "bach", "hof", "dorf", "ner", "ler"},
     {"a", "e", "o", "ert", "olf", "ine"}},
    {"nordic", {"sen", "son", "berg", "strom", "lund", "qvist", "dahl", "vik"},
     {"a", "e", "un", "ar", "il", "rid"}},
    {"italian", {"elli", "etti", "ini", "one", "ucci", "ani", "ato", "ino", "esi"},
     {"a", "o", "io", "ina", "ello"}},
    {"hispanic", {"ez", "es", "ado", "ero", "illo", "ano", "era"}, {"a", "o", "ita", "ito", "el"}},
    {"french", {"eau", "et", "ot", "ier", "and", "on", "ard", "in"},
     {"e", "ette", "ine", "ien", "ard"}},
    {"polish", {"ski", "wski", "czyk", "ak", "ek", "owicz"}, {"a", "ek", "usz", "ina"}},
    {"russian", {"ov", "ev", "in", "enko", "sky", "chenko"}, {"a", "ei", "ya", "il"}},
    {"greek", {"opoulos", "akis", "idis", "ou", "atos", "eas"}, {"a", "os", "is", "i"}},
    {"indian", {"an", "war", "kar", "appa", "esh", "ani", "ia"}, {"a", "esh", "ini", "it", "ya"}},
};
const TailEndings* TailEndingsOf(std::string_view culture) {
  for (const TailEndings& e : kTailEndings) {
    if (e.culture == culture) return &e;
  }
  return nullptr;
}
size_t EndingCount(std::span<const std::string_view> endings) {
  size_t n = 0;
  while (n < endings.size() && !endings[n].empty()) ++n;
  return n;
}
// A tail name: a syllable (common ones more often), often a short second one, and an ending.
std::string TailName(Rng& rng, std::span<const std::string_view> endings) {
  const size_t syllables = std::size(kOnsets) * std::size(kVowels) * std::size(kCodas);
  size_t s = rng.Skewed(syllables);
  std::string name = std::string(kOnsets[s % std::size(kOnsets)]) +
                     std::string(kVowels[(s / std::size(kOnsets)) % std::size(kVowels)]) +
                     std::string(kCodas[s / (std::size(kOnsets) * std::size(kVowels))]);
  if (rng.Chance(0.5)) {
    name += kOnsets[rng.Below(std::size(kOnsets))];
    name += kVowels[rng.Below(std::size(kVowels))];
  }
  name += endings[rng.Below(EndingCount(endings))];
  return name;
}
// The shares of people with a tail family name and a tail given name, in cultures that have one.
constexpr double kTailFamilyShare = 0.4;
constexpr double kTailGivenShare = 0.2;

constexpr std::string_view kStreetNames[] = {
    "acacia",     "albert",     "alexandra",   "anzac",      "archer",    "arthur",    "ashford",
    "banksia",    "barton",     "bass",        "beach",      "belmont",   "birch",     "blackwood",
    "bluegum",    "boundary",   "bradman",     "bridge",     "brighton",  "bunya",     "burke",
    "cambridge",  "canning",    "carrington",  "cedar",      "central",   "chapel",    "charles",
    "church",     "clarence",   "coral",       "cotter",     "creek",     "cross",     "darling",
    "dawson",     "denison",    "dover",       "dryandra",   "duke",      "eastern",   "edward",
    "elizabeth",  "emu",        "esplanade",   "eucalyptus", "eyre",      "fern",      "fitzroy",
    "flinders",   "forest",     "francis",     "frome",      "george",    "gilbert",   "gladstone",
    "glenelg",    "gordon",     "grevillea",   "gum",        "hakea",     "hamilton",  "hampden",
    "harbour",    "hawthorn",   "heath",       "high",       "hill",      "hobart",    "hume",
    "hunter",     "jacaranda",  "james",       "jarrah",     "john",      "karri",     "kent",
    "king",       "kingfisher", "kookaburra",  "lachlan",    "lake",      "laurel",    "lawson",
    "leichhardt", "light",      "lilly pilly", "lincoln",    "macquarie", "main",      "mallee",
    "manning",    "maple",      "market",      "marine",     "mary",      "melaleuca", "mill",
    "mitchell",   "murray",     "myrtle",      "namoi",      "nelson",    "new",       "norfolk",
    "north",      "oak",        "ocean",       "old",        "orange",    "oxford",    "palm",
    "park",       "parkes",     "parramatta",  "pitt",       "queen",     "railway",   "red gum",
    "regent",     "river",      "rose",        "russell",    "salisbury", "school",    "sea",
    "shiraz",     "smith",      "south",       "spencer",    "station",   "stirling",  "sturt",
    "swan",       "sydney",     "tasman",      "torrens",    "valley",    "victoria",  "view",
    "wakefield",  "waratah",    "wattle",      "wellington", "western",   "william",   "willow",
    "windsor",    "wombat",     "yarra",       "york"};
constexpr std::string_view kStreetTypes[] = {
    "street", "road",   "avenue",  "place", "crescent", "court", "drive",   "lane",
    "close",  "parade", "terrace", "way",   "circuit",  "grove", "highway", "boulevard"};
constexpr uint32_t kStreetTypeWeights[] = {30, 20, 12, 8, 8, 6, 8, 4, 4, 2, 2, 2, 2, 2, 1, 1};
constexpr std::string_view kPlaceNames[] = {
    "rosedale",  "the pines",   "kenwood park", "sunnyside",  "glenview",   "hillcrest",
    "riverside", "oakleigh",    "fairview",     "woodlands",  "brookvale",  "greenacres",
    "lakeside",  "the laurels", "willowbank",   "meadowvale", "clearwater", "bayview"};
constexpr std::string_view kLocalities[] = {
    "abbotsford",    "adamstown",     "albion",       "alexandria",    "annandale",
    "armadale",      "ascot",         "ashfield",     "auburn",        "balmain",
    "bankstown",     "beaconsfield",  "belconnen",    "bellevue",      "belmore",
    "berwick",       "blacktown",     "bondi",        "box hill",      "braddon",
    "brunswick",     "bulimba",       "burwood",      "camberwell",    "campsie",
    "carlton",       "castle hill",   "chatswood",    "chermside",     "clayton",
    "clovelly",      "coburg",        "collingwood",  "coogee",        "cottesloe",
    "cronulla",      "dandenong",     "darlinghurst", "dee why",       "doncaster",
    "drummoyne",     "dubbo",         "elsternwick",  "elwood",        "enfield",
    "epping",        "fairfield",     "fitzroy",      "footscray",     "frankston",
    "fremantle",     "geelong",       "glebe",        "glenelg",       "gosford",
    "goulburn",      "granville",     "hawthorn",     "hornsby",       "hurstville",
    "indooroopilly", "inglewood",     "ipswich",      "joondalup",     "kambah",
    "katoomba",      "kensington",    "kew",          "kingston",      "kogarah",
    "lakemba",       "leederville",   "leichhardt",   "lismore",       "liverpool",
    "lutwyche",      "malvern",       "manly",        "maroubra",      "marrickville",
    "mentone",       "merrylands",    "mildura",      "mitcham",       "moonee ponds",
    "mosman",        "mount gambier", "mudgee",       "narrabeen",     "newtown",
    "noosa",         "northcote",     "norwood",      "nundah",        "orange",
    "paddington",    "parkville",     "penrith",      "petersham",     "preston",
    "prospect",      "pymble",        "randwick",     "redfern",       "richmond",
    "ringwood",      "rockdale",      "rosebery",     "ryde",          "st kilda",
    "sandgate",      "scarborough",   "seaford",      "semaphore",     "south yarra",
    "spotswood",     "stanmore",      "strathfield",  "subiaco",       "sunshine",
    "surry hills",   "tamworth",      "toowong",      "toowoomba",     "tuggeranong",
    "unley",         "wagga wagga",   "waratah",      "warrnambool",   "waverley",
    "west end",      "williamstown",  "windsor",      "wodonga",       "woden",
    "wollongong",    "woollahra",     "yarraville",   "yeronga",       "young",
    "zillmere",      "ballarat",      "bendigo",      "cairns",        "mackay",
    "bundaberg",     "rockhampton",   "townsville",   "devonport",     "launceston",
    "burnie",        "hobart",        "darwin",       "palmerston",    "alice springs",
    "katherine",     "bunbury",       "geraldton",    "albany",        "kalgoorlie",
    "broome",        "mandurah",      "whyalla",      "murray bridge", "port pirie",
    "gawler",        "victor harbor", "queanbeyan"};
constexpr std::string_view kStates[] = {"nsw", "vic", "qld", "wa", "sa", "tas", "act", "nt"};
constexpr uint32_t kStatePostcodeBase[] = {2000, 3000, 4000, 6000, 5000, 7000, 2600, 800};

// Keys next to each other on a QWERTY keyboard.
constexpr std::string_view kQwertyRows[] = {"1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"};

// Characters a scanner confuses, both ways.
constexpr std::pair<std::string_view, std::string_view> kOcrPairs[] = {
    {"0", "o"}, {"1", "l"}, {"5", "s"}, {"8", "b"}, {"m", "rn"}, {"d", "cl"}, {"w", "vv"},
    {"e", "c"}, {"h", "b"}, {"g", "q"}, {"u", "v"}, {"i", "l"},  {"2", "z"},  {"6", "b"},
    {"1", "7"}, {"3", "8"}, {"5", "6"}, {"0", "8"}, {"n", "ri"}, {"a", "o"}};

// ---------------------------------------------------------------------------------------------
// The name tables, built once.

struct NameForms {
  std::vector<std::string> forms;  // forms[0] most used
};

struct Tables {
  struct CultureTables {
    std::string_view name;
    uint32_t weight;
    std::vector<NameForms> given;
    std::vector<NameForms> family;
    bool composed_family;
  };
  std::vector<CultureTables> cultures;
  std::vector<uint32_t> culture_weights;
  // canonical given name -> its diminutives, from nicknames.tsv
  std::vector<std::pair<std::string, std::vector<std::string>>> nicknames;

  const std::vector<std::string>* Diminutives(std::string_view name) const {
    auto it = std::lower_bound(nicknames.begin(), nicknames.end(), name,
                               [](const auto& e, std::string_view n) { return e.first < n; });
    return it != nicknames.end() && it->first == name ? &it->second : nullptr;
  }
};

std::vector<NameForms> Forms(std::span<const std::string_view> entries) {
  std::vector<NameForms> out;
  for (std::string_view e : entries) {
    NameForms n;
    size_t pos = 0;
    while (pos <= e.size()) {
      size_t bar = e.find('|', pos);
      if (bar == std::string_view::npos) bar = e.size();
      n.forms.emplace_back(e.substr(pos, bar - pos));
      pos = bar + 1;
    }
    out.push_back(std::move(n));
  }
  return out;
}

const Tables& BuiltinTables() {
  static const Tables* tables = [] {
    auto* t = new Tables;
    std::string_view tsv(internal::kNicknamesTsv, internal::kNicknamesTsvSize);
    size_t pos = 0;
    while (pos < tsv.size()) {
      size_t eol = tsv.find('\n', pos);
      if (eol == std::string_view::npos) eol = tsv.size();
      std::string_view line = tsv.substr(pos, eol - pos);
      pos = eol + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      size_t tab = line.find('\t');
      if (line.empty() || line[0] == '#' || tab == std::string_view::npos) continue;
      std::vector<std::string> variants;
      std::string_view rest = line.substr(tab + 1);
      size_t p = 0;
      while (p <= rest.size()) {
        size_t comma = rest.find(',', p);
        if (comma == std::string_view::npos) comma = rest.size();
        std::string_view v = rest.substr(p, comma - p);
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
        if (!v.empty()) variants.emplace_back(v);
        p = comma + 1;
      }
      if (!variants.empty()) t->nicknames.emplace_back(std::string(line.substr(0, tab)), variants);
    }
    std::sort(t->nicknames.begin(), t->nicknames.end());

    // English given names: the nickname table's canonical names first (so that diminutives
    // occur), then the others.
    std::vector<NameForms> english_given;
    for (const auto& [canonical, variants] : t->nicknames) {
      english_given.push_back(NameForms{{canonical}});
    }
    for (NameForms& n : Forms(kEnglishGiven)) english_given.push_back(std::move(n));
    // Interleave so that the skewed draw does not favour the alphabet's start.
    std::vector<NameForms> mixed;
    for (size_t i = 0; i < english_given.size(); ++i) {
      mixed.push_back(english_given[(i * 37) % english_given.size()]);
    }

    auto add = [&](std::string_view name, uint32_t weight, std::vector<NameForms> given,
                   std::span<const std::string_view> family, bool composed) {
      t->cultures.push_back({name, weight, std::move(given), Forms(family), composed});
      t->culture_weights.push_back(weight);
    };
    add("english", 40, std::move(mixed), kEnglishFamily, true);
    add("hispanic", 8, Forms(kHispanicGiven), kHispanicFamily, false);
    add("german", 6, Forms(kGermanGiven), kGermanFamily, true);
    add("french", 5, Forms(kFrenchGiven), kFrenchFamily, false);
    add("italian", 6, Forms(kItalianGiven), kItalianFamily, false);
    add("polish", 4, Forms(kPolishGiven), kPolishFamily, false);
    add("russian", 6, Forms(kRussianGiven), kRussianFamily, false);
    add("greek", 4, Forms(kGreekGiven), kGreekFamily, false);
    add("chinese", 7, Forms(kChineseGiven), kChineseFamily, false);
    add("vietnamese", 3, Forms(kVietnameseGiven), kVietnameseFamily, false);
    add("indian", 5, Forms(kIndianGiven), kIndianFamily, false);
    add("arabic", 4, Forms(kArabicGiven), kArabicFamily, false);
    add("nordic", 2, Forms(kNordicGiven), kNordicFamily, true);
    return t;
  }();
  return *tables;
}

// ---------------------------------------------------------------------------------------------
// A person and their records.

struct Address {
  std::string street_number, line1, line2, locality, postcode, state;
};

struct Person {
  const NameForms* given = nullptr;  // null when the given name is a tail name
  NameForms tail_given;              // the tail given name (one form)
  const NameForms* family = nullptr;
  std::string composed_family;  // set when the family name is composed (one form)
  size_t given_form = 0, family_form = 0;
  int year = 0, month = 0, day = 0;
  Address address;
  std::string identifier;
  size_t culture = 0;

  const NameForms& Given() const { return given != nullptr ? *given : tail_given; }
};

Address MakeAddress(Rng& rng) {
  Address a;
  size_t loc = rng.Skewed(std::size(kLocalities));
  a.locality = kLocalities[loc];
  size_t state = (loc * 5 + loc / 8) % std::size(kStates);
  a.state = kStates[state];
  a.postcode = std::to_string(kStatePostcodeBase[state] + (loc * 37) % 600 + 10);
  if (a.postcode.size() == 3) a.postcode = "0" + a.postcode;
  a.street_number = std::to_string(1 + rng.Skewed(400));
  a.line1 = std::string(kStreetNames[rng.Below(std::size(kStreetNames))]) + " " +
            std::string(kStreetTypes[rng.Weighted(kStreetTypeWeights)]);
  uint64_t kind = rng.Below(10);
  if (kind < 2) {
    a.line2 = std::string(kPlaceNames[rng.Below(std::size(kPlaceNames))]);
  } else if (kind < 4) {
    a.line2 = (rng.Below(2) ? "unit " : "flat ") + std::to_string(1 + rng.Below(40));
  }
  return a;
}

std::string_view Form(const NameForms& n, size_t form) { return n.forms[form]; }

Person MakePerson(const Tables& t, Rng& rng, int64_t entity, uint64_t seed) {
  Person p;
  p.culture = rng.Weighted(t.culture_weights);
  // One in ten persons has a given name from another culture than the family name.
  size_t given_culture = rng.Chance(0.1) ? rng.Weighted(t.culture_weights) : p.culture;
  const auto& gc = t.cultures[given_culture];
  const auto& fc = t.cultures[p.culture];
  const TailEndings* given_tail = TailEndingsOf(gc.name);
  if (given_tail != nullptr && rng.Chance(kTailGivenShare)) {
    p.tail_given.forms = {TailName(rng, given_tail->given)};
  } else {
    p.given = &gc.given[rng.Skewed(gc.given.size())];
  }
  const TailEndings* family_tail = TailEndingsOf(fc.name);
  if (family_tail != nullptr && rng.Chance(kTailFamilyShare)) {
    p.composed_family = TailName(rng, family_tail->family);
  } else if (fc.composed_family && rng.Chance(0.25)) {
    p.composed_family = std::string(kFamilyRoots[rng.Below(std::size(kFamilyRoots))]) +
                        std::string(kFamilySuffixes[rng.Below(std::size(kFamilySuffixes))]);
  } else {
    p.family = &fc.family[rng.Skewed(fc.family.size())];
  }
  // Names in another script appear in it in about half the originals.
  auto first_form = [&](const NameForms& n) -> size_t {
    if (n.forms.size() == 1) return 0;
    if (static_cast<unsigned char>(n.forms[0][0]) >= 0x80) {
      return rng.Chance(0.5) ? 0 : 1 + rng.Below(n.forms.size() - 1);
    }
    return rng.Chance(0.7) ? 0 : rng.Below(n.forms.size());
  };
  p.given_form = first_form(p.Given());
  if (p.family) p.family_form = first_form(*p.family);
  p.year = 1930 + static_cast<int>(rng.Below(90));
  p.month = 1 + static_cast<int>(rng.Below(12));
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  p.day = 1 + static_cast<int>(rng.Below(static_cast<size_t>(kDays[p.month - 1])));
  p.address = MakeAddress(rng);
  // Identifiers: a bijection of the entity number onto 7 digits (unique below 9,000,000
  // persons), offset by the seed.
  uint64_t id =
      (static_cast<uint64_t>(entity) * 2654435761ULL + Mix(seed) % 9000000ULL) % 9000000ULL;
  p.identifier = std::to_string(1000000 + id);
  return p;
}

std::string Date(int year, int month, int day) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d", year, month, day);
  return buf;
}

PersonRecord RecordOf(const Person& p) {
  PersonRecord r;
  r.given_name = Form(p.Given(), p.given_form);
  r.family_name = p.family ? std::string(Form(*p.family, p.family_form)) : p.composed_family;
  r.date_of_birth = Date(p.year, p.month, p.day);
  r.street_number = p.address.street_number;
  r.address_line1 = p.address.line1;
  r.address_line2 = p.address.line2;
  r.locality = p.address.locality;
  r.postcode = p.address.postcode;
  r.region = p.address.state;
  r.identifier = p.identifier;
  return r;
}

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// ---------------------------------------------------------------------------------------------
// Corruptions of one field's text. Each returns false when it cannot apply (the text is empty,
// not ASCII, has nothing to confuse), and then leaves it unchanged.

bool Typo(std::string& s, Rng& rng) {
  if (s.size() < 2 || !IsAscii(s)) return false;
  size_t i = rng.Below(s.size());
  bool digits = std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  char any =
      digits ? static_cast<char>('0' + rng.Below(10)) : static_cast<char>('a' + rng.Below(26));
  switch (rng.Below(4)) {
    case 0:
      s.insert(s.begin() + static_cast<std::ptrdiff_t>(i), any);
      break;
    case 1:
      if (s.size() < 3) return false;
      s.erase(i, 1);
      break;
    case 2:
      if (s[i] == any) any = digits ? (any == '9' ? '0' : any + 1) : (any == 'z' ? 'a' : any + 1);
      s[i] = any;
      break;
    default:
      if (i + 1 >= s.size()) i = s.size() - 2;
      if (s[i] == s[i + 1]) return false;
      std::swap(s[i], s[i + 1]);
      break;
  }
  return true;
}

bool Keyboard(std::string& s, Rng& rng) {
  if (s.empty() || !IsAscii(s)) return false;
  // Positions that have a key on the grid.
  for (int attempt = 0; attempt < 4; ++attempt) {
    size_t i = rng.Below(s.size());
    for (size_t row = 0; row < std::size(kQwertyRows); ++row) {
      size_t col = kQwertyRows[row].find(s[i]);
      if (col == std::string_view::npos) continue;
      std::vector<char> near;
      if (col > 0) near.push_back(kQwertyRows[row][col - 1]);
      if (col + 1 < kQwertyRows[row].size()) near.push_back(kQwertyRows[row][col + 1]);
      bool digits_row = row == 0;
      if (!digits_row) {  // letters: the row above or below too
        if (row > 1 && col < kQwertyRows[row - 1].size()) near.push_back(kQwertyRows[row - 1][col]);
        if (row + 1 < std::size(kQwertyRows) && col < kQwertyRows[row + 1].size()) {
          near.push_back(kQwertyRows[row + 1][col]);
        }
      }
      s[i] = near[rng.Below(near.size())];
      return true;
    }
  }
  return false;
}

bool Ocr(std::string& s, Rng& rng) {
  if (s.empty() || !IsAscii(s)) return false;
  // Every place where one side of a pair occurs.
  struct Hit {
    size_t pos;
    std::string_view from, to;
  };
  std::vector<Hit> hits;
  for (const auto& [a, b] : kOcrPairs) {
    for (size_t p = s.find(a); p != std::string::npos; p = s.find(a, p + 1)) {
      hits.push_back({p, a, b});
    }
    for (size_t p = s.find(b); p != std::string::npos; p = s.find(b, p + 1)) {
      hits.push_back({p, b, a});
    }
  }
  if (hits.empty()) return false;
  const Hit& h = hits[rng.Below(hits.size())];
  s.replace(h.pos, h.from.size(), h.to);
  return true;
}

// The fields a character-level corruption picks from, with their weights.
enum Field : uint8_t {
  kGiven,
  kFamily,
  kDob,
  kNumber,
  kLine1,
  kLine2,
  kLocality,
  kPostcode,
  kState,
  kId
};
constexpr uint32_t kTypoFieldWeights[] = {25, 25, 8, 5, 15, 2, 10, 5, 0, 7};
constexpr uint32_t kMissingFieldWeights[] = {6, 4, 10, 10, 7, 15, 10, 10, 12, 16};

std::string& FieldOf(PersonRecord& r, size_t f) {
  switch (f) {
    case kGiven:
      return r.given_name;
    case kFamily:
      return r.family_name;
    case kDob:
      return r.date_of_birth;
    case kNumber:
      return r.street_number;
    case kLine1:
      return r.address_line1;
    case kLine2:
      return r.address_line2;
    case kLocality:
      return r.locality;
    case kPostcode:
      return r.postcode;
    case kState:
      return r.region;
    default:
      return r.identifier;
  }
}

void SetAddress(PersonRecord& r, const Address& a) {
  r.street_number = a.street_number;
  r.address_line1 = a.line1;
  r.address_line2 = a.line2;
  r.locality = a.locality;
  r.postcode = a.postcode;
  r.region = a.state;
}

constexpr uint32_t kCorruptionWeights[] = {
    24,  // typo
    8,   // ocr
    12,  // keyboard
    10,  // nickname
    8,   // swapped fields
    16,  // missing value
    5,   // marriage
    8,   // transliteration
    8,   // move
};

// Applies one corruption of kind `c` to `r`; returns the kind actually applied (a kind that
// cannot apply to this person falls back to a typo) or nothing.
std::optional<Corruption> Apply(Corruption c, const Person& p, const Tables& t, PersonRecord& r,
                                Rng& rng) {
  auto char_level = [&](bool (*fn)(std::string&, Rng&),
                        Corruption kind) -> std::optional<Corruption> {
    for (int attempt = 0; attempt < 6; ++attempt) {
      if (fn(FieldOf(r, rng.Weighted(kTypoFieldWeights)), rng)) return kind;
    }
    return std::nullopt;
  };
  switch (c) {
    case Corruption::kTypo:
      return char_level(Typo, c);
    case Corruption::kOcr:
      return char_level(Ocr, c);
    case Corruption::kKeyboard:
      return char_level(Keyboard, c);
    case Corruption::kNickname: {
      const std::vector<std::string>* d = t.Diminutives(Form(p.Given(), p.given_form));
      if (d == nullptr) return char_level(Typo, Corruption::kTypo);
      r.given_name = (*d)[rng.Below(d->size())];
      return c;
    }
    case Corruption::kSwappedFields: {
      uint64_t which = rng.Below(10);
      if (which < 2 && p.day <= 12 && p.day != p.month && r.date_of_birth.size() == 8) {
        r.date_of_birth = Date(p.year, p.day, p.month);
      } else if (which < 4 && !r.address_line2.empty()) {
        std::swap(r.address_line1, r.address_line2);
      } else {
        std::swap(r.given_name, r.family_name);
      }
      return c;
    }
    case Corruption::kMissingValue: {
      for (int attempt = 0; attempt < 6; ++attempt) {
        std::string& f = FieldOf(r, rng.Weighted(kMissingFieldWeights));
        if (!f.empty()) {
          f.clear();
          return c;
        }
      }
      return std::nullopt;
    }
    case Corruption::kMarriage: {
      // A new family name from the same culture (or a composed one), and often a new home.
      const auto& fc = t.cultures[p.culture];
      const TailEndings* tail = TailEndingsOf(fc.name);
      std::string name;
      do {
        if (tail != nullptr && rng.Chance(kTailFamilyShare)) {
          name = TailName(rng, tail->family);
        } else {
          const NameForms& n = fc.family[rng.Skewed(fc.family.size())];
          name = n.forms[n.forms.size() > 1 && !IsAscii(n.forms[0]) ? 1 : 0];
        }
      } while (name == r.family_name);
      // Some keep the old name beside the new one.
      r.family_name = rng.Chance(0.15) && IsAscii(r.family_name) && !r.family_name.empty()
                          ? name + "-" + r.family_name
                          : name;
      if (rng.Chance(0.6)) SetAddress(r, MakeAddress(rng));
      return c;
    }
    case Corruption::kTransliteration: {
      bool given_ok = p.Given().forms.size() > 1;
      bool family_ok = p.family != nullptr && p.family->forms.size() > 1;
      if (!given_ok && !family_ok) return char_level(Typo, Corruption::kTypo);
      bool given = given_ok && (!family_ok || rng.Below(2) == 0);
      const NameForms& n = given ? p.Given() : *p.family;
      size_t current = given ? p.given_form : p.family_form;
      size_t other = (current + 1 + rng.Below(n.forms.size() - 1)) % n.forms.size();
      (given ? r.given_name : r.family_name) = n.forms[other];
      return c;
    }
    case Corruption::kMove: {
      Address a = MakeAddress(rng);
      if (a.line1 == p.address.line1 && a.locality == p.address.locality) return std::nullopt;
      SetAddress(r, a);
      return c;
    }
  }
  return std::nullopt;
}

// How many duplicates each person gets: zero with probability 1 - with_duplicates, else j in
// 1..max with weights 2^(max-j) (halving), or uniform when that cannot reach the share.
struct DuplicatePlan {
  double with_duplicates = 0;
  std::vector<uint32_t> weights;  // for j = 1..max
};

DuplicatePlan PlanDuplicates(const GeneratorOptions& o) {
  DuplicatePlan plan;
  double share = std::clamp(o.duplicates_share, 0.0, 0.9);
  if (share <= 0 || o.max_duplicates == 0) return plan;
  const uint32_t k = std::min<uint32_t>(o.max_duplicates, 20);
  double per_person = share / (1 - share);  // duplicates per original wanted
  double halving_mean = 0, total = 0;
  for (uint32_t j = 1; j <= k; ++j) {
    double w = static_cast<double>(1u << (k - j));
    halving_mean += w * j;
    total += w;
  }
  halving_mean /= total;
  if (per_person <= halving_mean) {
    for (uint32_t j = 1; j <= k; ++j) plan.weights.push_back(1u << (k - j));
    plan.with_duplicates = per_person / halving_mean;
  } else {
    plan.weights.assign(k, 1);
    plan.with_duplicates = std::min(1.0, per_person / ((k + 1) / 2.0));
  }
  return plan;
}

}  // namespace

std::string_view CorruptionName(Corruption c) {
  constexpr std::string_view kNames[] = {
      "typo",          "ocr",      "keyboard",        "nickname", "swapped_fields",
      "missing_value", "marriage", "transliteration", "move"};
  return kNames[static_cast<size_t>(c)];
}

std::string GeneratedRecord::RecId() const {
  std::string id = "rec-" + std::to_string(entity);
  id += duplicate < 0 ? "-org" : "-dup-" + std::to_string(duplicate);
  return id;
}

void GenerateRecords(const GeneratorOptions& options,
                     const std::function<void(const GeneratedRecord&)>& sink) {
  const Tables& t = BuiltinTables();
  const DuplicatePlan plan = PlanDuplicates(options);
  uint64_t emitted = 0;
  GeneratedRecord out;
  for (int64_t entity = 0; emitted < options.records; ++entity) {
    // Each person from their own stream, so that a person does not depend on the ones before.
    Rng rng(options.seed * 0x100000001B3ULL ^ Mix(static_cast<uint64_t>(entity)));
    Person p = MakePerson(t, rng, entity, options.seed);
    size_t dups = 0;
    if (!plan.weights.empty() && rng.Chance(plan.with_duplicates)) {
      dups = 1 + rng.Weighted(plan.weights);
    }
    dups = std::min<uint64_t>(dups, options.records - emitted - 1);
    out.entity = entity;
    out.duplicate = -1;
    out.corruptions = 0;
    out.record = RecordOf(p);
    sink(out);
    ++emitted;
    for (size_t d = 0; d < dups; ++d) {
      out.duplicate = static_cast<int32_t>(d);
      out.corruptions = 0;
      out.record = RecordOf(p);
      // One to three corruptions; a duplicate never leaves the generator uncorrupted unless
      // every attempt failed.
      size_t count = 1 + rng.Weighted(std::array<uint32_t, 3>{50, 35, 15});
      for (size_t i = 0; i < count; ++i) {
        auto kind = static_cast<Corruption>(rng.Weighted(kCorruptionWeights));
        if (auto applied = Apply(kind, p, t, out.record, rng)) {
          out.corruptions |= 1u << static_cast<unsigned>(*applied);
        }
      }
      sink(out);
      ++emitted;
    }
  }
}

std::vector<GeneratedRecord> GenerateRecords(const GeneratorOptions& options) {
  std::vector<GeneratedRecord> all;
  all.reserve(options.records);
  GenerateRecords(options, [&](const GeneratedRecord& r) { all.push_back(r); });
  if (options.shuffle) {
    Rng rng(options.seed ^ 0x53485546464C45ULL);
    for (size_t i = all.size(); i > 1; --i) std::swap(all[i - 1], all[rng.Below(i)]);
  }
  return all;
}

std::string_view FebrlHeader() {
  return "rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, "
         "state, date_of_birth, soc_sec_id";
}

std::string FebrlLine(const GeneratedRecord& g) {
  const PersonRecord& r = g.record;
  std::string line = g.RecId();
  for (const std::string* f :
       {&r.given_name, &r.family_name, &r.street_number, &r.address_line1, &r.address_line2,
        &r.locality, &r.postcode, &r.region, &r.date_of_birth, &r.identifier}) {
    line += ", ";
    line += *f;
  }
  return line;
}

void WriteGeneratedFebrl(const GeneratorOptions& options, std::ostream& out) {
  out << FebrlHeader() << '\n';
  if (!options.shuffle) {
    GenerateRecords(options, [&](const GeneratedRecord& r) { out << FebrlLine(r) << '\n'; });
    return;
  }
  std::vector<std::string> lines;
  lines.reserve(options.records);
  GenerateRecords(options, [&](const GeneratedRecord& r) { lines.push_back(FebrlLine(r)); });
  Rng rng(options.seed ^ 0x53485546464C45ULL);
  for (size_t i = lines.size(); i > 1; --i) std::swap(lines[i - 1], lines[rng.Below(i)]);
  for (const std::string& l : lines) out << l << '\n';
}

int RunLinkGenerate(const std::vector<std::string>& args) {
  auto usage = [](const std::string& problem) {
    std::cerr << "onedoor link generate: " << problem
              << "\nusage: onedoor link generate --records N --seed S [--out FILE]"
                 " [--duplicates-share P] [--max-duplicates K]\n";
    return 2;
  };
  GeneratorOptions options;
  std::string out_path;
  bool have_records = false, have_seed = false;
  auto parse_uint = [](const std::string& v, uint64_t* out) {
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
    return ec == std::errc() && end == v.data() + v.size();
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (i + 1 >= args.size())
      return usage(a.starts_with("--") ? a + " needs a value" : "unexpected " + a);
    const std::string& v = args[++i];
    if (a == "--records") {
      if (!parse_uint(v, &options.records) || options.records == 0 ||
          options.records > 100'000'000) {
        return usage("--records needs a number from 1 to 100000000");
      }
      have_records = true;
    } else if (a == "--seed") {
      if (!parse_uint(v, &options.seed)) return usage("--seed needs a non-negative number");
      have_seed = true;
    } else if (a == "--out") {
      out_path = v;
    } else if (a == "--duplicates-share") {
      char* end = nullptr;
      double p = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(p >= 0 && p <= 0.9)) {
        return usage("--duplicates-share needs a number from 0 to 0.9");
      }
      options.duplicates_share = p;
    } else if (a == "--max-duplicates") {
      uint64_t k = 0;
      if (!parse_uint(v, &k) || k == 0 || k > 20) return usage("--max-duplicates needs 1 to 20");
      options.max_duplicates = static_cast<uint32_t>(k);
    } else {
      return usage("unknown option " + a);
    }
  }
  if (!have_records || !have_seed) return usage("--records and --seed are required");
  if (out_path.empty() || out_path == "-") {
    std::ios::sync_with_stdio(false);
    WriteGeneratedFebrl(options, std::cout);
    std::cout.flush();
    if (!std::cout) {
      std::cerr << "onedoor link generate: cannot write to stdout\n";
      return 1;
    }
  } else {
    std::ofstream out(out_path, std::ios::binary);
    if (!out) {
      std::cerr << "onedoor link generate: cannot write " << out_path << "\n";
      return 1;
    }
    WriteGeneratedFebrl(options, out);
    out.close();
    if (!out) {
      std::cerr << "onedoor link generate: cannot write " << out_path << "\n";
      return 1;
    }
  }
  std::cerr << "onedoor link generate: " << options.records << " records, seed " << options.seed
            << "\n";
  return 0;
}

}  // namespace identity
