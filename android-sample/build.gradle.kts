plugins {
    id("com.android.application") version "8.9.1" apply false
    id("com.android.library") version "8.9.1" apply false
    id("org.jetbrains.kotlin.android") version "2.4.21" apply false
}

// One version for the core, the AAR and the app: the Rust workspace's.
extra["curbsideVersion"] = Regex("""(?m)^version\s*=\s*"([^"]+)"""")
    .find(file("../Cargo.toml").readText())!!.groupValues[1]
