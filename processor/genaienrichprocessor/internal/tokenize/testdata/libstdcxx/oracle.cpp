// oracle.cpp produces want.txt from cases.txt with the real libstdc++ algorithms that llama.cpp
// uses, for cxx_test.go (TestLibstdcxxReplica):
//
//   g++ -O2 -o oracle oracle.cpp && ./oracle < cases.txt > want.txt
//
// want.txt was made with g++ (Debian 12.2.0-14+deb12u1) 12.2.0.
//
// Input lines:
//   "S n len_0 ... len_{n-1}": std::sort of the ids 0..n-1 by len descending (the comparator of
//       llama.cpp's special tokens cache); prints the sorted ids.
//   "Q k op_1 ... op_k": operations on a std::priority_queue of llm_bigram_spm, each
//       "p LEFT SCORE" (push; SCORE may be NaN) or "o" (top, then pop); prints the popped lefts.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <queue>
#include <vector>

struct bigram {
    int left;
    int right;
    float score;
    size_t size;
    struct comparator { // llm_bigram_spm::comparator
        bool operator()(bigram & l, bigram & r) {
            return (l.score < r.score) || (l.score == r.score && l.left > r.left);
        }
    };
};

int main() {
    char kind;
    while (std::cin >> kind) {
        if (kind == 'S') {
            int n;
            std::cin >> n;
            std::vector<int> len(n);
            for (auto & x : len) std::cin >> x;
            std::vector<int> ids(n);
            for (int i = 0; i < n; i++) ids[i] = i;
            std::sort(ids.begin(), ids.end(), [&](const int a, const int b) { return len[a] > len[b]; });
            for (int i = 0; i < n; i++) printf("%d ", ids[i]);
            printf("\n");
        } else {
            int n;
            std::cin >> n;
            std::priority_queue<bigram, std::vector<bigram>, bigram::comparator> q;
            for (int i = 0; i < n; i++) {
                char op;
                std::cin >> op;
                if (op == 'p') {
                    int l;
                    char sc[32];
                    std::cin >> l >> sc;
                    float s = (sc[0] == 'N') ? NAN : strtof(sc, nullptr);
                    q.push(bigram{l, l + 1, s, 1});
                } else {
                    auto t = q.top();
                    q.pop();
                    printf("%d ", t.left);
                }
            }
            printf("\n");
        }
    }
}
