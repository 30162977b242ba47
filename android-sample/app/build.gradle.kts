// The sample app. Before compiling, two tasks build what is never committed:
//  - cargoNdk: libcurbside_ffi.so for each ABI into build/jniLibs (needs the Android NDK and
//    `cargo install cargo-ndk`, plus `rustup target add aarch64-linux-android x86_64-linux-android`);
//  - generateCurbsideBindings: the Kotlin API (package dev.curbside) generated from the host
//    build of the same library, with bindings/uniffi-android.toml's Android settings.
import org.gradle.api.tasks.Exec

plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

val repoRoot = rootProject.projectDir.parentFile
val generatedKotlin = layout.buildDirectory.dir("generated/uniffi")
val jniLibsDir = layout.buildDirectory.dir("jniLibs")

val cargoNdk by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine(
        "cargo", "ndk", "-t", "arm64-v8a", "-t", "x86_64", "-o", jniLibsDir.get().asFile.path,
        "build", "--release", "-p", "curbside-ffi",
    )
}

val generateCurbsideBindings by tasks.registering(Exec::class) {
    workingDir = repoRoot
    val hostLib = File(repoRoot, "target/debug/libcurbside_ffi.so")
    commandLine(
        "sh", "-c",
        "cargo build -p curbside-ffi -p uniffi-bindgen && " +
            "target/debug/uniffi-bindgen generate --config bindings/uniffi-android.toml " +
            "--language kotlin --out-dir ${generatedKotlin.get().asFile.path} ${hostLib.path}",
    )
}

android {
    namespace = "dev.curbside.sample"
    compileSdk = 35

    defaultConfig {
        applicationId = "dev.curbside.sample"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
    }

    sourceSets["main"].apply {
        java.srcDir(generatedKotlin)
        jniLibs.srcDir(jniLibsDir)
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
}

tasks.named("preBuild") { dependsOn(cargoNdk, generateCurbsideBindings) }

dependencies {
    implementation("net.java.dev.jna:jna:5.19.1@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.11.0")
    implementation("androidx.annotation:annotation:1.9.1")
    testImplementation("org.jetbrains.kotlin:kotlin-test-junit5:2.4.21")
    testImplementation("org.junit.jupiter:junit-jupiter:5.14.4")
}

tasks.withType<Test> { useJUnitPlatform() }
