// Reference benchmark harness for sdsl-lite (Debian libsdsl-dev 2.1.1).
//
// usage: sdsl_bench VARIANT TEXT_FILE PATTERN_FILE [--reps 5]
//                   [--locate-limit N] [--extract-len L] [--extract-count K]
//                   [--seed S] [--tmpdir DIR] [--verify] [--index FILE]
//        sdsl_bench VARIANT TEXT_FILE --serve [--index FILE]
//
//   VARIANT       plain  = csa_wt<wt_huff<>, 32, 64>
//                 rrr127 = csa_wt<wt_huff<rrr_vector<127>>, 32, 64>
//   TEXT_FILE     raw bytes; 0x00 bytes are replaced by 0x01 (sdsl reserves 0
//                 for the sentinel). The same mapping is applied to patterns,
//                 so all results refer to the transformed text.
//   PATTERN_FILE  records of <uint32 little-endian length><bytes>.
//
//   --index FILE  load the index from FILE if it exists, else build it and store
//                 it there (build_s is then 0 and peak RSS that of the load).
//   --serve       no pattern file: build (or load) once, print {"ready": ...}, then
//                 answer commands on stdin, one JSON line each:
//                   count PATTERN_FILE REPS [WARM]
//                                             WARM 1 (default): one untimed pass (the
//                                             index's lines cached as far as they
//                                             fit), then REPS timed passes per length
//                                             group (WARM 0: the timed passes only):
//                                             {"count_us_by_len": medians,
//                                              "count_sum_by_len": occurrences}
//                   quit
//                 (benches/bench_paired.py alternates it with fmindex so that both
//                 are timed in the same minutes of the VM's cache state).
//
// Prints one JSON object on stdout (one per command with --serve). Everything else
// goes to stderr.

#include <sdsl/suffix_arrays.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

typedef sdsl::csa_wt<sdsl::wt_huff<>, 32, 64> csa_plain_t;
typedef sdsl::csa_wt<sdsl::wt_huff<sdsl::rrr_vector<127>>, 32, 64> csa_rrr127_t;

typedef std::chrono::steady_clock clk;

struct Options {
    std::string variant;
    std::string text_file;
    std::string pattern_file;
    int reps = 5;
    uint64_t locate_limit = 1000;
    uint64_t extract_len = 1000;
    uint64_t extract_count = 200;
    uint64_t seed = 42;
    std::string tmpdir;
    std::string index_file;
    bool verify = false;
    bool serve = false;
};

[[noreturn]] void die(const std::string& msg)
{
    std::cerr << "sdsl_bench: " << msg << std::endl;
    std::exit(2);
}

void usage()
{
    std::cerr << "usage: sdsl_bench {plain|rrr127} TEXT_FILE PATTERN_FILE [--reps N]\n"
                 "       [--locate-limit N] [--extract-len L] [--extract-count K]\n"
                 "       [--seed S] [--tmpdir DIR] [--verify] [--index FILE]\n"
                 "       sdsl_bench {plain|rrr127} TEXT_FILE --serve [--index FILE]"
              << std::endl;
    std::exit(2);
}

uint64_t parse_u64(const std::string& s, const char* what)
{
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || errno != 0 || *end != '\0' || s[0] == '-') {
        die(std::string("bad value for ") + what + ": " + s);
    }
    return (uint64_t)v;
}

Options parse_args(int argc, char** argv)
{
    Options o;
    std::vector<std::string> pos;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto need = [&](const char* name) -> std::string {
            if (i + 1 >= argc) die(std::string("missing value for ") + name);
            return argv[++i];
        };
        if (a == "--reps") {
            o.reps = (int)parse_u64(need("--reps"), "--reps");
            if (o.reps < 1) die("--reps must be >= 1");
        } else if (a == "--locate-limit") {
            o.locate_limit = parse_u64(need("--locate-limit"), "--locate-limit");
        } else if (a == "--extract-len") {
            o.extract_len = parse_u64(need("--extract-len"), "--extract-len");
        } else if (a == "--extract-count") {
            o.extract_count = parse_u64(need("--extract-count"), "--extract-count");
        } else if (a == "--seed") {
            o.seed = parse_u64(need("--seed"), "--seed");
        } else if (a == "--tmpdir") {
            o.tmpdir = need("--tmpdir");
        } else if (a == "--verify") {
            o.verify = true;
        } else if (a == "--serve") {
            o.serve = true;
        } else if (a == "--index") {
            o.index_file = need("--index");
        } else if (a == "-h" || a == "--help") {
            usage();
        } else if (a.size() > 2 && a[0] == '-' && a[1] == '-') {
            die("unknown option " + a);
        } else {
            pos.push_back(a);
        }
    }
    if (pos.size() != (o.serve ? 2u : 3u)) usage();
    o.variant = pos[0];
    o.text_file = pos[1];
    if (!o.serve) o.pattern_file = pos[2];
    return o;
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) die("cannot open " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

uint64_t replace_zeros(std::string& s)
{
    uint64_t n = 0;
    for (auto& ch : s) {
        if (ch == '\0') {
            ch = '\x01';
            ++n;
        }
    }
    return n;
}

std::vector<std::string> read_patterns(const std::string& path, uint64_t& zeros)
{
    std::string raw = read_file(path);
    std::vector<std::string> pats;
    size_t off = 0;
    zeros = 0;
    while (off < raw.size()) {
        if (raw.size() - off < 4) die("truncated pattern file (length header)");
        const unsigned char* p = (const unsigned char*)raw.data() + off;
        uint32_t len = (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
                       ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
        off += 4;
        if (raw.size() - off < len) die("truncated pattern file (pattern bytes)");
        pats.emplace_back(raw, off, len);
        zeros += replace_zeros(pats.back());
        off += len;
    }
    return pats;
}

uint64_t peak_rss_bytes()
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_maxrss * 1024ULL;  // Linux reports KiB
}

double seconds_since(clk::time_point t0)
{
    return std::chrono::duration<double>(clk::now() - t0).count();
}

double median(std::vector<double> v)
{
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    size_t m = v.size() / 2;
    return (v.size() % 2) ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

std::string json_num(double x)
{
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.6g", x);
    return buf;
}

volatile uint64_t g_sink = 0;  // defeats dead-code elimination

std::string json_val(double x) { return json_num(x); }
std::string json_val(uint64_t x) { return std::to_string(x); }

template <class V>
std::string json_len_map(const std::map<uint64_t, V>& m)
{
    std::ostringstream o;
    o << "{";
    bool first = true;
    for (auto& kv : m) {
        o << (first ? "" : ", ") << "\"" << kv.first << "\": " << json_val(kv.second);
        first = false;
    }
    o << "}";
    return o.str();
}

template <class t_csa>
int serve(const t_csa& csa, const Options& opt, double build_s, uint64_t index_bytes)
{
    std::cout << "{\"ready\": true, \"variant\": \"" << opt.variant << "\", \"build_s\": "
              << json_num(build_s) << ", \"index_bytes\": " << index_bytes << "}" << std::endl;
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream cmd(line);
        std::string verb, path;
        int reps = 0, warm = 1;
        cmd >> verb;
        if (verb == "quit") break;
        if (verb != "count" || !(cmd >> path >> reps) || reps < 1) {
            die("bad command (expected 'count PATTERN_FILE REPS [WARM]' or 'quit'): " + line);
        }
        if (!(cmd >> warm)) warm = 1;
        uint64_t zeros = 0;
        std::vector<std::string> pats = read_patterns(path, zeros);
        std::map<uint64_t, std::vector<size_t>> by_len;
        for (size_t i = 0; i < pats.size(); ++i) by_len[pats[i].size()].push_back(i);
        std::map<uint64_t, uint64_t> sums;
        std::map<uint64_t, double> meds;
        for (auto& g : by_len) {                 // the untimed pass, also the answers
            if (!warm) break;
            uint64_t acc = 0;
            for (size_t i : g.second) acc += sdsl::count(csa, pats[i].begin(), pats[i].end());
            sums[g.first] = acc;
        }
        std::map<uint64_t, std::vector<double>> us;
        for (int rep = 0; rep < reps; ++rep) {
            for (auto& g : by_len) {
                uint64_t acc = 0;
                auto s = clk::now();
                for (size_t i : g.second) acc += sdsl::count(csa, pats[i].begin(), pats[i].end());
                us[g.first].push_back(seconds_since(s) * 1e6 / g.second.size());
                g_sink += acc;
                if (rep == 0 && !warm) sums[g.first] = acc;
            }
        }
        for (auto& kv : us) meds[kv.first] = median(kv.second);
        std::cout << "{\"count_us_by_len\": " << json_len_map(meds)
                  << ", \"count_sum_by_len\": " << json_len_map(sums) << "}" << std::endl;
    }
    return 0;
}

template <class t_csa>
int run(const Options& opt)
{
    // ---- text -------------------------------------------------------------
    std::string text = read_file(opt.text_file);
    if (text.empty()) die("text file is empty");
    uint64_t zeros = replace_zeros(text);
    const uint64_t n = text.size();

    // ---- build ------------------------------------------------------------
    t_csa csa;
    auto t0 = clk::now();
    bool loaded = false;
    if (!opt.index_file.empty() && std::ifstream(opt.index_file).good()) {
        if (!sdsl::load_from_file(csa, opt.index_file)) die("cannot load " + opt.index_file);
        loaded = true;
    } else if (opt.tmpdir.empty()) {
        // In-memory construction. After zero replacement the text is a valid
        // NUL-terminated C string of length n, which construct_im stores raw.
        sdsl::construct_im(csa, text.c_str(), 1);
    } else {
        // Disk-based construction with temporaries in tmpdir.
        std::string id = std::to_string(getpid()) + "_sdsl_bench";
        std::string tfile = opt.tmpdir + "/" + id + ".txt";
        {
            std::ofstream out(tfile, std::ios::binary | std::ios::trunc);
            if (!out) die("cannot write " + tfile);
            out.write(text.data(), (std::streamsize)text.size());
        }
        sdsl::cache_config cfg(true, opt.tmpdir, id);
        sdsl::construct(csa, tfile, cfg, 1);
        std::remove(tfile.c_str());
    }
    double build_s = loaded ? 0.0 : seconds_since(t0);
    if (!loaded && !opt.index_file.empty() && !sdsl::store_to_file(csa, opt.index_file)) {
        die("cannot store the index in " + opt.index_file);
    }
    uint64_t rss = peak_rss_bytes();
    uint64_t index_bytes = sdsl::size_in_bytes(csa);
    if (csa.size() != n + 1) die("unexpected csa.size() (an index file of another text?)");
    if (opt.serve) return serve(csa, opt, build_s, index_bytes);

    // ---- queries ----------------------------------------------------------
    uint64_t pat_zeros = 0;
    std::vector<std::string> pats = read_patterns(opt.pattern_file, pat_zeros);

    std::map<uint64_t, std::vector<size_t>> by_len;  // length -> pattern idx
    for (size_t i = 0; i < pats.size(); ++i) by_len[pats[i].size()].push_back(i);

    std::vector<uint64_t> counts(pats.size(), 0);
    for (size_t i = 0; i < pats.size(); ++i) {
        counts[i] = sdsl::count(csa, pats[i].begin(), pats[i].end());
    }

    // extract positions (fixed seed)
    uint64_t L = std::min<uint64_t>(opt.extract_len, n);
    std::vector<uint64_t> ext_pos;
    if (L > 0) {
        std::mt19937_64 rng(opt.seed);
        std::uniform_int_distribution<uint64_t> dist(0, n - L);
        for (uint64_t k = 0; k < opt.extract_count; ++k) ext_pos.push_back(dist(rng));
    }

    std::map<uint64_t, std::vector<double>> count_us;          // len -> per rep
    std::map<uint64_t, std::vector<double>> locate_us_len;     // len -> per rep
    std::map<uint64_t, uint64_t> locate_occs_len;
    std::vector<double> locate_us, extract_ns;
    uint64_t locate_occs = 0;
    bool verify_ok = true;
    std::string verify_msg;

    for (int rep = 0; rep < opt.reps; ++rep) {
        // count: mean time per pattern, per length group
        for (auto& g : by_len) {
            uint64_t acc = 0;
            auto s = clk::now();
            for (size_t i : g.second) {
                acc += sdsl::count(csa, pats[i].begin(), pats[i].end());
            }
            double us = seconds_since(s) * 1e6;
            g_sink += acc;
            count_us[g.first].push_back(us / g.second.size());
        }

        // locate: backward_search + csa[i] for the first locate_limit rows.
        // Patterns without occurrences are skipped (pure count cost).
        double tot_us = 0.0;
        uint64_t tot_occ = 0;
        for (auto& g : by_len) {
            double g_us = 0.0;
            uint64_t g_occ = 0;
            for (size_t i : g.second) {
                if (counts[i] == 0 || opt.locate_limit == 0) continue;
                const std::string& p = pats[i];
                auto s = clk::now();
                typename t_csa::size_type lb = 0, rb = 0;
                uint64_t occ = sdsl::backward_search(csa, 0, csa.size() - 1,
                                                     p.begin(), p.end(), lb, rb);
                uint64_t k = std::min<uint64_t>(occ, opt.locate_limit);
                uint64_t acc = 0;
                for (uint64_t j = 0; j < k; ++j) acc += csa[lb + j];
                g_us += seconds_since(s) * 1e6;
                g_occ += k;
                g_sink += acc;
                if (opt.verify && rep == 0) {
                    for (uint64_t j = 0; j < k && verify_ok; ++j) {
                        uint64_t pos = csa[lb + j];
                        if (pos + p.size() > n || text.compare(pos, p.size(), p) != 0) {
                            verify_ok = false;
                            verify_msg = "locate mismatch for pattern #" + std::to_string(i);
                        }
                    }
                }
            }
            if (g_occ) {
                locate_us_len[g.first].push_back(g_us / g_occ);
                locate_occs_len[g.first] = g_occ;
            }
            tot_us += g_us;
            tot_occ += g_occ;
        }
        if (tot_occ) locate_us.push_back(tot_us / tot_occ);
        locate_occs = tot_occ;

        // extract
        if (!ext_pos.empty()) {
            std::string buf(L, '\0');
            uint64_t acc = 0;
            auto s = clk::now();
            for (uint64_t b : ext_pos) {
                sdsl::extract(csa, b, b + L - 1, buf.begin());
                acc += (unsigned char)buf[0] + (unsigned char)buf[L - 1];
                if (opt.verify && rep == 0 && verify_ok &&
                    text.compare(b, L, buf) != 0) {
                    verify_ok = false;
                    verify_msg = "extract mismatch at position " + std::to_string(b);
                }
            }
            double ns = seconds_since(s) * 1e9;
            g_sink += acc;
            extract_ns.push_back(ns / ((double)ext_pos.size() * (double)L));
        }
    }

    // ---- output -----------------------------------------------------------
    std::ostringstream o;
    o << "{";
    o << "\"variant\": \"" << opt.variant << "\"";
    o << ", \"sdsl_type\": \""
      << (opt.variant == "plain" ? "csa_wt<wt_huff<>, 32, 64>"
                                 : "csa_wt<wt_huff<rrr_vector<127>>, 32, 64>")
      << "\"";
    o << ", \"text_bytes\": " << n;
    o << ", \"zero_bytes_replaced\": " << zeros;
    o << ", \"pattern_zero_bytes_replaced\": " << pat_zeros;
    o << ", \"build_s\": " << json_num(build_s);
    o << ", \"build_mode\": \"" << (opt.tmpdir.empty() ? "construct_im" : "construct_disk") << "\"";
    o << ", \"peak_rss_bytes\": " << rss;
    o << ", \"index_bytes\": " << index_bytes;
    o << ", \"reps\": " << opt.reps;
    o << ", \"n_patterns\": " << pats.size();
    o << ", \"count_us_by_len\": {";
    bool first = true;
    for (auto& kv : count_us) {
        o << (first ? "" : ", ") << "\"" << kv.first << "\": " << json_num(median(kv.second));
        first = false;
    }
    o << "}";
    o << ", \"count_results\": [";
    for (size_t i = 0; i < counts.size(); ++i) o << (i ? ", " : "") << counts[i];
    o << "]";
    o << ", \"locate_limit\": " << opt.locate_limit;
    o << ", \"locate_us_per_occ\": " << (locate_us.empty() ? "null" : json_num(median(locate_us)));
    o << ", \"locate_occs\": " << locate_occs;
    o << ", \"locate_us_per_occ_by_len\": {";
    first = true;
    for (auto& kv : locate_us_len) {
        o << (first ? "" : ", ") << "\"" << kv.first << "\": " << json_num(median(kv.second));
        first = false;
    }
    o << "}";
    o << ", \"extract_len\": " << L;
    o << ", \"extract_count\": " << ext_pos.size();
    o << ", \"extract_ns_per_char\": " << (extract_ns.empty() ? "null" : json_num(median(extract_ns)));
    if (opt.verify) {
        o << ", \"verify_ok\": " << (verify_ok ? "true" : "false");
        if (!verify_ok) o << ", \"verify_error\": \"" << verify_msg << "\"";
    }
    o << "}";
    std::cout << o.str() << std::endl;
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    Options opt = parse_args(argc, argv);
    try {
        if (opt.variant == "plain") return run<csa_plain_t>(opt);
        if (opt.variant == "rrr127") return run<csa_rrr127_t>(opt);
    } catch (const std::exception& e) {
        die(std::string("error: ") + e.what());
    }
    die("unknown variant '" + opt.variant + "' (expected plain or rrr127)");
}
